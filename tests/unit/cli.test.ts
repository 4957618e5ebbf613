import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketErrorLine, bucketNameProblems, credentialSource, knownRegions, resolveRegion } from '../../scripts/aws';
import { errorText, HelpRequested, numberFlag, parseFlags, UsageError, CliError } from '../../scripts/cli';
import { checkParams, loadParams, templateUrl } from '../../scripts/deploy';
import { outputsDir, writeOutputsFiles } from '../../scripts/lib/outputs';
import { ROOT } from '../../scripts/lib/paths';
import { planInputFromArgv } from '../../scripts/plan';

const SPECS = {
  sensors: { type: 'string', help: 'number of sensors', required: true },
  json: { type: 'boolean', help: 'print JSON' },
} as const;

describe('parseFlags', () => {
  it('answers --help and -h with the usage', () => {
    for (const flag of ['--help', '-h']) {
      const error = (() => {
        try {
          parseFlags('plan', [flag], SPECS, 'Capacity for a city.');
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(HelpRequested);
      expect((error as HelpRequested).exitCode).toBe(0);
      expect((error as Error).message).toBe(
        'Usage: npm run plan -- --sensors <value> [--json]\n\nCapacity for a city.\n\n' +
          '  --sensors <value>            number of sensors (required)\n  --json                       print JSON\n  --help, -h                   print this help',
      );
    }
  });

  it('takes a negative number as the flag value, so the value check can name the flag', () => {
    expect(parseFlags('plan', ['--sensors', '-5'], SPECS).sensors).toBe('-5');
    expect(() => planInputFromArgv(['--sensors', '-5', '--hz', '1'])).toThrow('plan: --sensors must be zero or more (not negative), got -5');
    expect(() => planInputFromArgv(['--sensors', '50000', '--hz', '-0.5'])).toThrow('plan: --hz must be zero or more (not negative), got -0.5');
  });

  it('refuses a flag given twice, naming it', () => {
    expect(() => parseFlags('plan', ['--sensors', '1', '--sensors', '2'], SPECS)).toThrow('plan: --sensors is given more than once; give it once');
    expect(() => parseFlags('plan', ['--sensors', '1', '--json', '--json'], SPECS)).toThrow('plan: --json is given more than once');
  });

  it('prefixes every error with the command name', () => {
    expect(() => parseFlags('plan', ['--sensorz', '1'], SPECS)).toThrow(/^plan: unknown flag --sensorz; allowed: --sensors <number of sensors> --json$/);
    expect(() => parseFlags('plan', ['--sensors'], SPECS)).toThrow(/^plan: --sensors needs a value/);
    expect(() => parseFlags('plan', [], SPECS)).toThrow(/^plan: --sensors <number of sensors> is required/);
    expect(() => parseFlags('plan', ['--sensors', '1', 'extra'], SPECS)).toThrow(/^plan: unexpected argument 'extra'/);
    expect(errorText('redrive', new Error('boom'))).toBe('redrive: Error: boom');
    expect(errorText('redrive', new UsageError('redrive: --env is required'))).toBe('redrive: --env is required');
  });
});

describe('numberFlag', () => {
  it('checks bounds and whole numbers when asked', () => {
    expect(numberFlag('x', 'n', undefined, 7)).toBe(7);
    expect(numberFlag('x', 'n', '0', 7)).toBe(0);
    expect(() => numberFlag('x', 'n', 'abc', 7)).toThrow("x: --n takes a number, got 'abc'");
    expect(() => numberFlag('x', 'n', '1.5', 7, { integer: true })).toThrow('x: --n must be a whole number, got 1.5');
    expect(() => numberFlag('x', 'n', '0', 7, { min: 1 })).toThrow('x: --n must be at least 1, got 0');
    expect(() => numberFlag('x', 'n', '11', 7, { max: 10 })).toThrow('x: --n must be at most 10, got 11');
    expect(numberFlag('x', 'n', '-3', 7, { min: -10 })).toBe(-3);
  });
});

describe('AWS settings of the scripts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapstack-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves the region as the SDK and the CLI do: flag, AWS_REGION, AWS_DEFAULT_REGION, the profile', async () => {
    const config = join(dir, 'config');
    writeFileSync(config, '[default]\nregion = eu-west-1\n[profile city]\nregion = eu-central-1\n');
    const saved = { ...process.env };
    try {
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      delete process.env.AWS_PROFILE;
      process.env.AWS_CONFIG_FILE = config;
      expect(await resolveRegion('ap-south-1')).toEqual({ region: 'ap-south-1', source: '--region' });
      expect(await resolveRegion(undefined, { AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'us-east-2' })).toEqual({ region: 'us-west-2', source: 'AWS_REGION' });
      expect(await resolveRegion(undefined, { AWS_DEFAULT_REGION: 'us-east-2' })).toEqual({ region: 'us-east-2', source: 'AWS_DEFAULT_REGION' });
      expect((await resolveRegion(undefined, process.env)).region).toBe('eu-west-1');
      process.env.AWS_PROFILE = 'city';
      expect((await resolveRegion(undefined, process.env)).region).toBe('eu-central-1');
    } finally {
      process.env = saved;
    }
  });

  it('names where the credentials came from', () => {
    const base = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's' };
    expect(credentialSource({ ...base, $source: { CREDENTIALS_ENV_VARS: 'g' } } as never)).toBe('environment variables (AWS_ACCESS_KEY_ID)');
    expect(credentialSource({ ...base, $source: { CREDENTIALS_PROFILE: 'n' } } as never)).toMatch(/^profile \S+ \(shared credentials\/config file\)$/);
    expect(credentialSource({ ...base, $source: { CREDENTIALS_IMDS: '0' } } as never)).toBe('EC2 instance metadata');
  });

  it('refuses bucket names S3 would refuse, citing each rule broken', () => {
    expect(bucketNameProblems('my-city-tapstack-artifacts')).toEqual([]);
    expect(bucketNameProblems('ab')).toEqual(['is 2 characters (3-63 allowed)']);
    expect(bucketNameProblems('192.168.5.4')).toEqual(['must not be an IP address']);
    expect(bucketNameProblems('xn--city')).toEqual(['must not start with xn--']);
    expect(bucketNameProblems('city..logs')).toEqual(['must not hold two adjacent dots']);
    expect(bucketNameProblems('City-')).toEqual(['may hold only lowercase letters, digits, dots and hyphens', 'must begin and end with a letter or digit']);
    expect(bucketNameProblems('logs-s3alias')).toEqual(['must not end with -s3alias']);
  });

  it('says "not found" only for a 404', () => {
    const status = (code: number, name: string) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: code } });
    expect(bucketErrorLine('b', 'eu-west-1', status(404, 'NotFound'))).toMatch(/^Bucket b not found in eu-west-1/);
    expect(bucketErrorLine('b', 'eu-west-1', status(403, 'Forbidden'))).toMatch(/^Bucket b exists but these credentials may not use it/);
    expect(bucketErrorLine('b', 'eu-west-1', status(500, 'InternalError'))).toBe('Bucket b: S3 answered 500 InternalError: InternalError');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', $metadata: {} });
    expect(bucketErrorLine('b', 'eu-west-1', refused, 'http://127.0.0.1:9')).toBe(
      'Could not reach S3 at http://127.0.0.1:9 to check bucket b (network error: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:9)',
    );
  });

  it('points CloudFormation at the uploaded template: S3 in the region\'s partition, or path style on an emulator (loopback as localhost)', () => {
    expect(templateUrl({ region: 'eu-west-1' }, 'b', 'templates/x.template')).toBe('https://b.s3.eu-west-1.amazonaws.com/templates/x.template');
    expect(templateUrl({ region: 'cn-north-1' }, 'b', 'k')).toBe('https://b.s3.cn-north-1.amazonaws.com.cn/k');
    expect(templateUrl({ region: 'us-east-1', endpoint: 'http://127.0.0.1:5000' }, 'b', 'k')).toBe('http://localhost:5000/b/k');
    expect(templateUrl({ region: 'us-east-1', endpoint: 'https://emulator.internal:4566/' }, 'b', 'k')).toBe('https://emulator.internal:4566/b/k');
  });

  it('refuses a region the SDK does not know, naming the flag or the variable and the allowed regions', async () => {
    await expect(resolveRegion('us-east-9')).rejects.toThrow(/^--region 'us-east-9' is not an AWS region the SDK knows; allowed: us-east-1, us-east-2, .*eu-west-1/);
    await expect(resolveRegion(undefined, { AWS_REGION: 'eu-wset-1' })).rejects.toThrow(/^the region 'eu-wset-1' \(from AWS_REGION\) is not an AWS region/);
    expect(knownRegions()).toEqual(expect.arrayContaining(['us-east-1', 'eu-central-1', 'ap-southeast-2', 'cn-north-1', 'us-gov-west-1']));
    expect(() => planInputFromArgv(['--sensors', '1', '--hz', '1', '--region', 'mars-1'])).toThrow(/--region 'mars-1' is not an AWS region/);
  });

  it('writes one outputs file per stack plus the last deploy\'s copy, under the injectable directory', () => {
    expect(outputsDir(undefined, { TAPSTACK_OUTPUTS_DIR: dir })).toBe(dir);
    expect(outputsDir(join(dir, 'x'), { TAPSTACK_OUTPUTS_DIR: dir })).toBe(join(dir, 'x'));
    writeOutputsFiles(dir, 'tapstack-prod', { StreamName: 'tapstack-prod-readings' });
    const paths = writeOutputsFiles(dir, 'tapstack-dev', { StreamName: 'tapstack-dev-readings' });
    expect(paths).toEqual([join(dir, 'tapstack-dev.json'), join(dir, 'flat-outputs.json')]);
    expect(JSON.parse(readFileSync(join(dir, 'tapstack-prod.json'), 'utf8'))).toEqual({ StreamName: 'tapstack-prod-readings' });
  });
});

describe('deploy: the parameters file', () => {
  it('refuses an EnvironmentSuffix that is not --env, in one line', () => {
    const dev = loadParams('dev');
    expect(() => checkParams('staging', dev, { file: 'params/staging.json', noEmail: false })).toThrow(
      `deploy: --env staging but params/staging.json has EnvironmentSuffix 'dev': set "EnvironmentSuffix": "staging" in the file`,
    );
    const { EnvironmentSuffix: _, ...rest } = dev.Parameters;
    // The template's default suffix is dev.
    expect(() => checkParams('qa', { Parameters: { ...rest, ThrowawayEnvironment: 'true' } }, { file: 'f', noEmail: false })).toThrow("has EnvironmentSuffix 'dev'");
  });

  it('refuses a non-throwaway environment without both emails unless --no-email', () => {
    const prod = loadParams('prod');
    expect(() => checkParams('prod', prod, { file: 'params/prod.json', noEmail: false })).toThrow(CliError);
    expect(() => checkParams('prod', prod, { file: 'params/prod.json', noEmail: false })).toThrow(
      'deploy: prod is not a throwaway environment (ThrowawayEnvironment=false) and NotificationEmail and OpsNotificationEmail are empty in params/prod.json',
    );
    expect(() => checkParams('prod', prod, { file: 'params/prod.json', noEmail: true })).not.toThrow();
    const withOne = { Parameters: { ...prod.Parameters, NotificationEmail: 'traffic@city.example' } };
    expect(() => checkParams('prod', withOne, { file: 'f', noEmail: false })).toThrow('and OpsNotificationEmail is empty in f: set it');
    const both = { Parameters: { ...withOne.Parameters, OpsNotificationEmail: 'ops@city.example' } };
    expect(() => checkParams('prod', both, { file: 'f', noEmail: false })).not.toThrow();
    // dev is throwaway: no email needed.
    expect(() => checkParams('dev', loadParams('dev'), { file: 'params/dev.json', noEmail: false })).not.toThrow();
  });
});

describe('Makefile', () => {
  const make = (...args: string[]) => spawnSync('make', ['-n', '--no-print-directory', ...args], { cwd: ROOT, encoding: 'utf8' });
  it('make deploy without ENV or BUCKET stops with one line naming the variable', () => {
    const noEnv = make('deploy');
    expect(noEnv.status).not.toBe(0);
    expect(noEnv.stderr).toContain('make deploy needs ENV=<environment>, e.g. make deploy ENV=dev');
    expect(make('deploy', 'ENV=dev').stderr).toContain('make deploy needs BUCKET=<artifact bucket>');
    expect(make('deploy', 'ENV=dev', 'BUCKET=b').stdout.trim()).toBe('npm run deploy -- --env dev --bucket b');
  });
  it('make plan passes SENSORS, HZ and ZONES through', () => {
    expect(make('plan', 'SENSORS=200000', 'HZ=2').stdout.trim()).toBe('npm run plan -- --sensors 200000 --hz 2');
    expect(make('plan').stdout.trim()).toBe('npm run plan -- --sensors 50000 --hz 1');
    expect(make('plan', 'ZONES=3').stdout.trim()).toBe('npm run plan -- --sensors 50000 --hz 1 --zones 3');
  });
  it('make clean leaves the stack outputs alone', () => {
    expect(make('clean').stdout).not.toContain('cfn-outputs');
  });
});
