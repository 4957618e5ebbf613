import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketErrorLine, bucketNameProblems, credentialSource, knownRegions, resolveRegion } from '../../../scripts/aws';
import { planInputFromArgv } from '../../../scripts/plan';

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

  it('refuses a region the SDK does not know, naming the flag or the variable and the allowed regions', async () => {
    await expect(resolveRegion('us-east-9')).rejects.toThrow(/^--region 'us-east-9' is not an AWS region the SDK knows; allowed: us-east-1, us-east-2, .*eu-west-1/);
    await expect(resolveRegion(undefined, { AWS_REGION: 'eu-wset-1' })).rejects.toThrow(/^the region 'eu-wset-1' \(from AWS_REGION\) is not an AWS region/);
    expect(knownRegions()).toEqual(expect.arrayContaining(['us-east-1', 'eu-central-1', 'ap-southeast-2', 'cn-north-1', 'us-gov-west-1']));
    expect(() => planInputFromArgv(['--sensors', '1', '--hz', '1', '--region', 'mars-1'])).toThrow(/--region 'mars-1' is not an AWS region/);
  });
});
