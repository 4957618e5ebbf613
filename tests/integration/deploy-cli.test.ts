/**
 * npm run package / npm run deploy end to end against moto, as a user runs them (a child process,
 * the AWS CLI doing the change-set deploy). moto is addressed as localhost: that is how it finds
 * the bucket in the TemplateURL the CLI passes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/paths';
import { OUTPUTS_PATH } from '../../scripts/deploy';
import { startMoto, type Moto } from '../helpers/moto';

const BUCKET = 'tapstack-artifacts';

describe('npm run package and npm run deploy against moto', () => {
  let moto: Moto;
  let endpoint: string;
  let env: NodeJS.ProcessEnv;
  const aws = () => ({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const run = (script: string, args: string[], extraEnv: NodeJS.ProcessEnv = env) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', script), ...args], { cwd: ROOT, encoding: 'utf8', env: extraEnv, timeout: 240_000 });

  beforeAll(async () => {
    moto = await startMoto();
    endpoint = moto.endpoint.replace('127.0.0.1', 'localhost');
    env = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
    await new S3Client({ ...aws(), forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: BUCKET }));
    rmSync(OUTPUTS_PATH, { force: true });
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('packages: uploads the bundle under its content hash, then skips the upload', () => {
    const first = run('package.ts', ['--bucket', BUCKET, '--prefix', 'lambda']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Uploading dist\/processor-[0-9a-f]{12}\.zip \([\d.]+ KiB\) to s3:\/\/tapstack-artifacts\/lambda\/processor-[0-9a-f]{12}\.zip \.\.\.$/m);
    expect(first.stdout).toMatch(/^LambdaCodeS3Key=lambda\/processor-[0-9a-f]{12}\.zip$/m);
    const second = run('package.ts', ['--bucket', BUCKET, '--prefix', 'lambda']);
    expect(second.stdout).toContain('upload skipped');
  });

  it('deploys params/dev.json, creating the stack and the outputs file', async () => {
    const result = run('deploy.ts', ['--env', 'dev', '--bucket', BUCKET]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('Stack tapstack-dev: CREATE_COMPLETE');
    expect(JSON.parse(readFileSync(OUTPUTS_PATH, 'utf8'))).toBeTypeOf('object');

    const cfn = new CloudFormationClient(aws());
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'tapstack-dev' }))).Stacks![0]!;
    expect(stack.Tags).toEqual(expect.arrayContaining([{ Key: 'Project', Value: 'TapStack' }, { Key: 'Environment', Value: 'dev' }]));
    // moto drops Outputs on change-set deploys (aws cloudformation deploy), so the outputs file
    // stays empty here; the stack's resources show the deploy instead.
    expect(stack.Outputs ?? []).toEqual([]);
    const resources = (await cfn.send(new DescribeStackResourcesCommand({ StackName: 'tapstack-dev' }))).StackResources ?? [];
    const byId = Object.fromEntries(resources.map((r) => [r.LogicalResourceId, r.PhysicalResourceId]));
    expect(byId.ReadingsStream).toContain('tapstack-dev-readings');
    expect(byId.ReadingsTable).toBe('tapstack-dev-readings');
    const fn = await new LambdaClient(aws()).send(new GetFunctionCommand({ FunctionName: 'tapstack-dev-processor' }));
    expect(fn.Configuration?.Runtime).toBe('nodejs24.x');
    const key = /^LambdaCodeS3Key=(.+)$/m.exec(result.stdout)![1];
    expect(key).toMatch(/^processor-[0-9a-f]{12}\.zip$/);
    expect(stack.Parameters).toEqual(expect.arrayContaining([{ ParameterKey: 'LambdaCodeS3Key', ParameterValue: key }]));

    const again = run('deploy.ts', ['--env', 'dev', '--bucket', BUCKET]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('upload skipped');
  });

  it.each([
    [['--env', 'staging', '--bucket', BUCKET], 2, "deploy: --env 'staging' has no params/staging.json; environments: dev, prod"],
    [['--bucket', BUCKET], 2, 'deploy: --env <environment: dev | prod> is required'],
    [['--env', 'dev', '--bucket', BUCKET, '--force'], 2, 'deploy: unknown flag --force; allowed: --env'],
    [['--env', 'dev', '--bucket', 'no-such-bucket'], 1, 'Bucket no-such-bucket not found in us-east-1'],
  ])('refuses %j with one clear line', (args, status, message) => {
    const result = run('deploy.ts', args);
    expect(result.status).toBe(status);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
  });

  it('refuses to start without credentials', () => {
    const { AWS_ACCESS_KEY_ID: _, AWS_SECRET_ACCESS_KEY: __, ...withoutKeys } = env;
    const result = run('deploy.ts', ['--env', 'dev', '--bucket', BUCKET], {
      ...withoutKeys,
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'No AWS credentials found: configure a profile (aws configure, AWS_PROFILE) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    );
  });
});
