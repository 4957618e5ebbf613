/**
 * npm run deploy -- --env <name> [--bucket B] [--stack-name S] [--region R]
 * Packages the processor, deploys templates/TapStack.yml with params/<env>.json through
 * `aws cloudformation deploy`, then writes cfn-outputs/flat-outputs.json (output key → value).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ENVIRONMENT_SUFFIX_PATTERN } from '../contract';
import { buildTemplate } from '../src/index';
import { assertCredentials, awsTarget, DeployError, type AwsTarget } from './aws';
import { ROOT } from './lib/paths';
import { parseFlags, runMain, UsageError } from './cli';
import { packageProcessor } from './package';

export const PARAMS_DIR = join(ROOT, 'params');
export const OUTPUTS_PATH = join(ROOT, 'cfn-outputs', 'flat-outputs.json');
export const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND'];

export interface ParamsFile {
  Description?: string;
  Parameters: Record<string, string>;
}

export const environments = () =>
  existsSync(PARAMS_DIR) ? readdirSync(PARAMS_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [];

/** Reads params/<env>.json and checks every name against the template's parameters. */
export function loadParams(env: string): ParamsFile {
  const path = join(PARAMS_DIR, `${env}.json`);
  if (!ENVIRONMENT_SUFFIX_PATTERN.test(env) || !existsSync(path)) {
    throw new UsageError(`deploy: --env '${env}' has no params/${env}.json; environments: ${environments().join(', ') || 'none'}`);
  }
  let file: ParamsFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as ParamsFile;
  } catch (error) {
    throw new DeployError(`params/${env}.json is not valid JSON: ${(error as Error).message}`);
  }
  const known = Object.keys(buildTemplate().Parameters);
  const unknown = Object.keys(file.Parameters ?? {}).filter((k) => !known.includes(k));
  if (!file.Parameters || unknown.length > 0) {
    throw new DeployError(`params/${env}.json: unknown parameter(s) ${unknown.join(', ') || '(no "Parameters" object)'}; the template takes ${known.join(', ')}`);
  }
  return file;
}

/** The `aws cloudformation deploy` command line. */
export function deployArgs(o: {
  stackName: string;
  bucket: string;
  parameters: Record<string, string>;
  environment: string;
  target: AwsTarget;
}): string[] {
  return [
    'cloudformation',
    'deploy',
    '--template-file',
    join(ROOT, 'templates', 'TapStack.yml'),
    '--stack-name',
    o.stackName,
    // The template is larger than the 51,200 bytes CloudFormation takes inline.
    '--s3-bucket',
    o.bucket,
    '--s3-prefix',
    'templates',
    '--capabilities',
    ...CAPABILITIES,
    '--no-fail-on-empty-changeset',
    '--region',
    o.target.region,
    ...(o.target.endpoint ? ['--endpoint-url', o.target.endpoint] : []),
    '--parameter-overrides',
    ...Object.entries(o.parameters).map(([k, v]) => `${k}=${v}`),
    '--tags',
    'Project=TapStack',
    `Environment=${o.environment}`,
  ];
}

/** Reads the stack's outputs and writes them to the outputs file (key → value). */
export async function writeOutputs(stackName: string, target: AwsTarget, print: (line: string) => void): Promise<Record<string, string>> {
  const cfn = new CloudFormationClient({ region: target.region, ...(target.endpoint ? { endpoint: target.endpoint } : {}) });
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  const outputs = Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
  mkdirSync(join(ROOT, 'cfn-outputs'), { recursive: true });
  writeFileSync(OUTPUTS_PATH, `${JSON.stringify(outputs, null, 2)}\n`);
  print(`Stack ${stackName}: ${stack?.StackStatus}; ${Object.keys(outputs).length} outputs written to cfn-outputs/flat-outputs.json`);
  if (Object.keys(outputs).length === 0) {
    print('Warning: the stack reports no outputs (moto drops them on change-set deploys; AWS does not)');
  }
  return outputs;
}

/** npm run deploy: check the inputs, package the processor, `aws cloudformation deploy`, write the outputs. */
export async function deploy(argv: string[], print: (line: string) => void = console.log): Promise<Record<string, string>> {
  const flags = parseFlags('deploy', argv, {
    env: { type: 'string', help: `environment: ${environments().join(' | ')}`, required: true },
    bucket: { type: 'string', help: 'S3 bucket for the Lambda code and the template', required: true },
    'stack-name': { type: 'string', help: 'stack name, default tapstack-<env>' },
    region: { type: 'string', help: 'AWS region' },
  });
  const env = flags.env!;
  const params = loadParams(env);
  const stackName = flags['stack-name'] ?? `tapstack-${env}`;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new UsageError(`deploy: --stack-name '${stackName}' must start with a letter and hold only letters, digits and hyphens`);
  }
  const target = awsTarget(flags.region);
  await assertCredentials();
  const code = await packageProcessor({ bucket: flags.bucket!, target }, print);
  const environment = params.Parameters.EnvironmentSuffix ?? env;
  const args = deployArgs({
    stackName,
    bucket: flags.bucket!,
    parameters: { ...params.Parameters, LambdaCodeS3Bucket: code.LambdaCodeS3Bucket, LambdaCodeS3Key: code.LambdaCodeS3Key },
    environment,
    target,
  });
  print(`aws ${args.join(' ')}`);
  const run = spawnSync('aws', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.error) throw new DeployError('The AWS CLI (aws) was not found: install it (python3 -m pip install awscli, or AWS CLI v2)');
  if (run.status !== 0) throw new DeployError(`aws cloudformation deploy failed (exit ${run.status}): see its output above`);
  return writeOutputs(stackName, target, print);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain(async () => {
    await deploy(process.argv.slice(2));
  });
}
