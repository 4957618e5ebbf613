/**
 * npm run package / npm run deploy end to end against moto, as a user runs them (a child process,
 * CreateStack then UpdateStack from the uploaded template), with AWS_ENDPOINT_URL=http://127.0.0.1:<port> as moto
 * prints it. Outputs go to a temporary directory (TAPSTACK_OUTPUTS_DIR), never into the repository.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/paths';
import { IoTClient, ListTargetsForPolicyCommand } from '@aws-sdk/client-iot';
import { startMoto, type Moto } from '../helpers/moto';

const BUCKET = 'tapstack-artifacts';

describe('npm run package and npm run deploy against moto', () => {
  let moto: Moto;
  let endpoint: string;
  let env: NodeJS.ProcessEnv;
  let outDir: string;
  const aws = () => ({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  /**
   * The script as a child process, asynchronously: the test process must keep reading moto's log
   * pipe while the script talks to moto, or moto blocks once the pipe is full (spawnSync would hang it).
   */
  const run = (script: string, args: string[], extraEnv: NodeJS.ProcessEnv = env) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', script), ...args], { cwd: ROOT, env: extraEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });

  beforeAll(async () => {
    moto = await startMoto();
    endpoint = moto.endpoint;
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    outDir = mkdtempSync(join(tmpdir(), 'tapstack-outputs-'));
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      TAPSTACK_OUTPUTS_DIR: outDir,
    };
    await new S3Client({ ...aws(), forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  afterAll(async () => {
    await moto?.stop();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('packages: uploads the bundle under its content hash, then skips the upload', async () => {
    const first = await run('package.ts', ['--bucket', BUCKET, '--prefix', 'lambda']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Uploading dist\/processor-[0-9a-f]{12}\.zip \([\d.]+ KiB\) to s3:\/\/tapstack-artifacts\/lambda\/processor-[0-9a-f]{12}\.zip \.\.\.$/m);
    expect(first.stdout).toMatch(/^LambdaCodeS3Key=lambda\/processor-[0-9a-f]{12}\.zip$/m);
    const second = await run('package.ts', ['--bucket', BUCKET, '--prefix', 'lambda']);
    expect(second.stdout).toContain('upload skipped');
  });

  it('deploys params/dev.json at http://127.0.0.1:<port>, creating the stack and its outputs file', async () => {
    const before = existsSync(join(ROOT, 'cfn-outputs', 'tapstack-dev.json')) ? readFileSync(join(ROOT, 'cfn-outputs', 'tapstack-dev.json'), 'utf8') : undefined;
    const result = await run('deploy.ts', ['--env', 'dev', '--bucket', BUCKET]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`Region us-east-1 (from AWS_REGION); endpoint ${endpoint} (AWS_ENDPOINT_URL)`);
    expect(result.stdout).toContain('Credentials from environment variables (AWS_ACCESS_KEY_ID) (access key …)');
    expect(result.stdout).toContain('Stack tapstack-dev: CREATE_COMPLETE');
    expect(JSON.parse(readFileSync(join(outDir, 'tapstack-dev.json'), 'utf8'))).toBeTypeOf('object');
    expect(readFileSync(join(outDir, 'flat-outputs.json'), 'utf8')).toBe(readFileSync(join(outDir, 'tapstack-dev.json'), 'utf8'));
    // Nothing written into the repository.
    expect(existsSync(join(ROOT, 'cfn-outputs', 'tapstack-dev.json')) ? readFileSync(join(ROOT, 'cfn-outputs', 'tapstack-dev.json'), 'utf8') : undefined).toBe(before);

    const cfn = new CloudFormationClient(aws());
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'tapstack-dev' }))).Stacks![0]!;
    expect(stack.Tags).toEqual(expect.arrayContaining([{ Key: 'Project', Value: 'TapStack' }, { Key: 'Environment', Value: 'dev' }]));
    // CreateStack keeps the stack's Outputs (a change-set deploy loses them in moto): the outputs
    // file has them, the sensor policy by its name.
    const outputs = JSON.parse(readFileSync(join(outDir, 'tapstack-dev.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(outputs).length).toBe((stack.Outputs ?? []).length);
    expect(outputs).toMatchObject({ StreamName: expect.stringContaining('tapstack-dev-readings'), ReadingsTableName: 'tapstack-dev-readings', SensorPolicyName: 'tapstack-dev-sensor' });
    expect(outputs.QuarantineQueueUrl).toMatch(/tapstack-dev-quarantine\.fifo$/);
    const resources = (await cfn.send(new DescribeStackResourcesCommand({ StackName: 'tapstack-dev' }))).StackResources ?? [];
    const byId = Object.fromEntries(resources.map((r) => [r.LogicalResourceId, r.PhysicalResourceId]));
    expect(byId.ReadingsStream).toContain('tapstack-dev-readings');
    expect(byId.ReadingsTable).toBe('tapstack-dev-readings');
    const fn = await new LambdaClient(aws()).send(new GetFunctionCommand({ FunctionName: 'tapstack-dev-processor' }));
    expect(fn.Configuration?.Runtime).toBe('nodejs24.x');
    const key = /^LambdaCodeS3Key=(.+)$/m.exec(result.stdout)![1];
    expect(key).toMatch(/^processor-[0-9a-f]{12}\.zip$/);
    expect(stack.Parameters).toEqual(expect.arrayContaining([{ ParameterKey: 'LambdaCodeS3Key', ParameterValue: key }]));
    // The sensor policy goes on the environment's sensor thing group (CloudFormation cannot put it there).
    expect(result.stdout).toContain('IoT policy tapstack-dev-sensor attached to thing group tapstack-dev-sensors');
    const targets = (await new IoTClient(aws()).send(new ListTargetsForPolicyCommand({ policyName: 'tapstack-dev-sensor' }))).targets;
    expect(targets).toEqual([expect.stringMatching(/:thinggroup\/tapstack-dev-sensors$/)]);
    // A throwaway environment stays deletable.
    expect(result.stdout).not.toContain('Termination protection on');

    const again = await run('deploy.ts', ['--env', 'dev', '--bucket', BUCKET]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('upload skipped');
    expect(again.stdout).toMatch(/Stack tapstack-dev: (UPDATE_COMPLETE|no changes to deploy)/);
  });

  it('keeps one outputs file per stack: a second environment does not clobber the first', async () => {
    const params = JSON.parse(readFileSync(join(ROOT, 'params', 'dev.json'), 'utf8'));
    params.Parameters.EnvironmentSuffix = 'stage';
    const file = join(outDir, 'stage.params.json');
    writeFileSync(file, JSON.stringify(params));
    const result = await run('deploy.ts', ['--env', 'stage', '--bucket', BUCKET, '--params', file]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(existsSync(join(outDir, 'tapstack-dev.json'))).toBe(true);
    expect(existsSync(join(outDir, 'tapstack-stage.json'))).toBe(true);
    expect(readFileSync(join(outDir, 'flat-outputs.json'), 'utf8')).toBe(readFileSync(join(outDir, 'tapstack-stage.json'), 'utf8'));
  });

  it.each([
    [['--env', 'staging', '--bucket', BUCKET], 2, "deploy: --env 'staging' has no params/staging.json; environments: dev, prod"],
    [['--bucket', BUCKET], 2, 'deploy: --env <environment: dev | prod> is required'],
    [['--env', 'dev', '--bucket', BUCKET, '--force'], 2, 'deploy: unknown flag --force; allowed: --env'],
    [['--env', 'dev', '--env', 'prod', '--bucket', BUCKET], 2, 'deploy: --env is given more than once'],
    [['--env', 'dev', '--bucket', 'no-such-bucket'], 1, 'deploy: Bucket no-such-bucket not found in us-east-1'],
    [['--env', 'dev', '--bucket', 'my_bucket'], 1, "deploy: --bucket 'my_bucket' is not a name S3 accepts: it may hold only lowercase letters, digits, dots and hyphens (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)"],
    [['--env', 'prod', '--bucket', BUCKET], 2, 'deploy: prod is not a throwaway environment (ThrowawayEnvironment=false) and NotificationEmail and OpsNotificationEmail are empty in params/prod.json'],
  ])('refuses %j with one clear line', async (args, status, message) => {
    const result = await run('deploy.ts', args);
    expect(result.status).toBe(status);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
  });

  it('refuses a params file whose EnvironmentSuffix is not --env (a copied dev.json)', async () => {
    const file = join(outDir, 'staging.json');
    writeFileSync(file, readFileSync(join(ROOT, 'params', 'dev.json')));
    const result = await run('deploy.ts', ['--env', 'staging', '--bucket', BUCKET, '--params', file]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe(`deploy: --env staging but ${file} has EnvironmentSuffix 'dev': set "EnvironmentSuffix": "staging" in the file`);
  });

  it("takes the region from the profile's config file when no variable sets it, and prints it", async () => {
    const config = join(outDir, 'aws-config');
    writeFileSync(config, '[default]\nregion = eu-west-1\n[profile city]\nregion = eu-central-1\n');
    const { AWS_REGION: _, ...noRegion } = env;
    const byDefault = await run('deploy.ts', ['--env', 'dev', '--bucket', 'no-such-bucket'], { ...noRegion, AWS_CONFIG_FILE: config });
    expect(byDefault.stdout).toContain('Region eu-west-1 (from profile default');
    expect(byDefault.stderr.trim()).toMatch(/^deploy: Bucket no-such-bucket not found in eu-west-1/);
    const named = await run('deploy.ts', ['--env', 'dev', '--bucket', 'no-such-bucket'], { ...noRegion, AWS_CONFIG_FILE: config, AWS_PROFILE: 'city' });
    expect(named.stdout).toContain('Region eu-central-1 (from profile city');
    // With AWS_PROFILE set the SDK (like the CLI) takes the profile's keys, not the variables: it has none.
    expect(named.stderr.trim().split('\n').at(-1)).toMatch(/^deploy: No AWS credentials found/);
    const defaultRegion = await run('deploy.ts', ['--env', 'dev', '--bucket', 'no-such-bucket'], { ...noRegion, AWS_CONFIG_FILE: config, AWS_DEFAULT_REGION: 'ap-south-1' });
    expect(defaultRegion.stdout).toContain('Region ap-south-1 (from AWS_DEFAULT_REGION)');
    const none = await run('deploy.ts', ['--env', 'dev', '--bucket', BUCKET], noRegion);
    expect(none.status).toBe(1);
    expect(none.stderr.trim()).toMatch(/^deploy: No AWS region: pass --region, set AWS_REGION or AWS_DEFAULT_REGION/);
  });

  it('says a network error is a network error, not a missing bucket', async () => {
    const result = await run('package.ts', ['--bucket', BUCKET], { ...env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^package: Could not reach S3 at http:\/\/127\.0\.0\.1:9 to check bucket tapstack-artifacts \(network error: ECONNREFUSED/);
    expect(result.stderr).not.toContain('not found');
  });

  it('prints its usage for --help and -h', async () => {
    for (const flag of ['--help', '-h']) {
      const result = await run('deploy.ts', [flag]);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^Usage: npm run deploy -- --env <value> --bucket <value>/);
      expect(result.stdout).toContain('--no-email');
    }
  });

  it('refuses to start without credentials', async () => {
    const { AWS_ACCESS_KEY_ID: _, AWS_SECRET_ACCESS_KEY: __, ...withoutKeys } = env;
    const result = await run('deploy.ts', ['--env', 'dev', '--bucket', BUCKET], {
      ...withoutKeys,
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'deploy: No AWS credentials found: configure a profile (aws configure, AWS_PROFILE) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    );
  });
});
