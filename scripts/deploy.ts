/**
 * npm run deploy -- --env <name> --bucket B [--stack-name S] [--region R] [--params FILE]
 *                   [--outputs-dir DIR] [--no-email]
 * Checks the parameters file against --env, resolves the region and credentials as the SDK and
 * the AWS CLI do (and prints them), packages the processor, deploys templates/TapStack.yml through
 * `aws cloudformation deploy`, then does what CloudFormation cannot: attaches the sensor policy to
 * the environment's sensor thing group, and turns termination protection on outside throwaway
 * environments; then writes the stack's outputs to <outputs dir>/<stack name>.json and, as the
 * last deploy's copy, <outputs dir>/flat-outputs.json; finally uploads the console's build to its
 * bucket (scripts/lib/console-publish.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, UpdateTerminationProtectionCommand } from '@aws-sdk/client-cloudformation';
import { AttachPolicyCommand, CreateThingGroupCommand, DescribeThingGroupCommand, IoTClient } from '@aws-sdk/client-iot';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { ENVIRONMENT_SUFFIX_PATTERN } from '../contract';
import { buildTemplate } from '../src/index';
import { assertBucketName, clientConfig, DeployError, maskedKeyId, resolveCredentials, resolveTarget, type AwsTarget } from './aws';
import { ROOT } from './lib/paths';
import { templateName } from './lib/ops';
import { outputsDir, writeOutputsFiles } from './lib/outputs';
import { LogicalId } from '../src/names';
import { parseFlags, runMain, UsageError } from './cli';
import { packageProcessor, s3Client } from './package';
import { buildConsole } from './build-console';
import { deployedPageConfig } from './lib/console-config';
import { publishConsole } from './lib/console-publish';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';

export const PARAMS_DIR = join(ROOT, 'params');
export const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND'];

export interface ParamsFile {
  Description?: string;
  Parameters: Record<string, string>;
}

export const environments = () =>
  existsSync(PARAMS_DIR) ? readdirSync(PARAMS_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [];

const TEMPLATE_PARAMETERS = () => buildTemplate().Parameters as Record<string, { Default?: unknown }>;

/** Reads params/<env>.json (or `path`) and checks every name against the template's parameters. */
export function loadParams(env: string, path: string = join(PARAMS_DIR, `${env}.json`)): ParamsFile {
  const shown = relative(ROOT, path).startsWith('..') ? path : relative(ROOT, path);
  if (!ENVIRONMENT_SUFFIX_PATTERN.test(env)) {
    throw new UsageError(`deploy: --env '${env}' must be 1-12 lowercase letters or digits (it becomes EnvironmentSuffix); environments: ${environments().join(', ') || 'none'}`);
  }
  if (!existsSync(path)) {
    throw new UsageError(`deploy: --env '${env}' has no ${shown}; environments: ${environments().join(', ') || 'none'}`);
  }
  let file: ParamsFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as ParamsFile;
  } catch (error) {
    throw new DeployError(`${shown} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const known = Object.keys(TEMPLATE_PARAMETERS());
  const unknown = Object.keys(file.Parameters ?? {}).filter((k) => !known.includes(k));
  if (!file.Parameters || unknown.length > 0) {
    throw new DeployError(`${shown}: unknown parameter(s) ${unknown.join(', ') || '(no "Parameters" object)'}; the template takes ${known.join(', ')}`);
  }
  return file;
}

/** A parameter's value: the file's, else the template's default. */
export function parameterValue(params: ParamsFile, name: string): string {
  return params.Parameters[name] ?? String(TEMPLATE_PARAMETERS()[name]?.Default ?? '');
}

/**
 * Refusals before anything is uploaded, each one line:
 * - the file's EnvironmentSuffix (or the template's default) is not --env: every physical name
 *   would be another environment's (a copied params/dev.json deploys over dev's IoT policy);
 * - a non-throwaway environment (ThrowawayEnvironment is 'false', the template's default, and
 *   what prod must be) with no NotificationEmail or OpsNotificationEmail would page nobody,
 *   unless --no-email says that is meant (a paging tool subscribed to the topics by hand).
 */
export function checkParams(env: string, params: ParamsFile, options: { file: string; noEmail: boolean }): void {
  const suffix = parameterValue(params, 'EnvironmentSuffix');
  if (suffix !== env) {
    throw new UsageError(`deploy: --env ${env} but ${options.file} has EnvironmentSuffix '${suffix}': set "EnvironmentSuffix": "${env}" in the file`);
  }
  const throwaway = parameterValue(params, 'ThrowawayEnvironment') === 'true';
  const empty = ['NotificationEmail', 'OpsNotificationEmail'].filter((name) => parameterValue(params, name).trim() === '');
  if (!throwaway && empty.length > 0 && !options.noEmail) {
    throw new UsageError(
      `deploy: ${env} is not a throwaway environment (ThrowawayEnvironment=false) and ${empty.join(' and ')} ${empty.length > 1 ? 'are' : 'is'} empty in ${options.file}: set ${empty.length > 1 ? 'them' : 'it'}, or pass --no-email if alarms and alerts reach people another way`,
    );
  }
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
    ...(o.target.endpoint ? ['--endpoint-url', cliEndpoint(o.target.endpoint)] : []),
    '--parameter-overrides',
    ...Object.entries(o.parameters).map(([k, v]) => `${k}=${v}`),
    '--tags',
    'Project=TapStack',
    `Environment=${o.environment}`,
  ];
}

/**
 * The endpoint handed to the AWS CLI. A loopback IP (127.0.0.1, ::1) becomes `localhost`: the CLI
 * uploads the template and passes CloudFormation a TemplateURL on the endpoint's host, and an
 * emulator (moto 5) reads the bucket from such a URL's path only when its host is `localhost`
 * (otherwise it takes the first label of the host, `127`, as the bucket). Same machine, same port.
 */
export function cliEndpoint(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.hostname === '127.0.0.1' || url.hostname === '[::1]') url.hostname = 'localhost';
  return url.toString().replace(/\/$/, '');
}

/**
 * Attaches the sensor policy to the environment's sensor thing group, which is how every sensor gets
 * it (src/layers/provisioning.ts THING_LAYOUT): CloudFormation cannot attach an IoT policy to a thing
 * group (AWS::IoT::PolicyPrincipalAttachment takes certificates: https://github.com/aws/aws-cdk/issues/26166),
 * so no provisioning role needs AttachPolicy. AttachPolicy is idempotent; the names are the
 * template's own (moto reports an IoT policy's physical ID unusably, and drops outputs on change
 * sets). The group is the stack's; an emulator that does not create AWS::IoT::ThingGroup gets it here.
 */
export async function attachSensorPolicy(iot: IoTClient, parameters: Record<string, string>, print: (line: string) => void): Promise<void> {
  const policyName = templateName(LogicalId.SensorPolicy, 'PolicyName', parameters)!;
  const groupName = templateName(LogicalId.SensorThingGroup, 'ThingGroupName', parameters)!;
  let groupArn: string;
  try {
    groupArn = (await iot.send(new DescribeThingGroupCommand({ thingGroupName: groupName }))).thingGroupArn!;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
    groupArn = (await iot.send(new CreateThingGroupCommand({ thingGroupName: groupName }))).thingGroupArn!;
    print(`Thing group ${groupName} was not there after the deploy (an emulator without AWS::IoT::ThingGroup): created it`);
  }
  await iot.send(new AttachPolicyCommand({ policyName, target: groupArn }));
  print(`IoT policy ${policyName} attached to thing group ${groupName}: the sensors of this environment (and only they) may connect`);
}

/**
 * Turns termination protection on for a stack that keeps data (ThrowawayEnvironment=false): a
 * mistaken delete-stack then fails instead of starting
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html).
 * `aws cloudformation deploy` has no flag for it. npm run teardown turns it off after asking.
 */
export async function protectStack(cfn: CloudFormationClient, stackName: string, throwaway: boolean, print: (line: string) => void): Promise<void> {
  if (throwaway) return;
  await cfn.send(new UpdateTerminationProtectionCommand({ StackName: stackName, EnableTerminationProtection: true }));
  print(`Termination protection on for ${stackName} (a non-throwaway environment; npm run teardown turns it off after asking)`);
}

/** Reads the stack's outputs and writes them to the outputs files (key → value). */
export async function writeOutputs(
  stackName: string,
  target: AwsTarget,
  print: (line: string) => void,
  dir: string = outputsDir(),
  credentials?: AwsCredentialIdentity,
): Promise<Record<string, string>> {
  const cfn = new CloudFormationClient(clientConfig(target, credentials));
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  const outputs = Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
  const [perStack, last] = writeOutputsFiles(dir, stackName, outputs).map((p) => (relative(ROOT, p).startsWith('..') ? p : relative(ROOT, p)));
  print(`Stack ${stackName}: ${stack?.StackStatus}; ${Object.keys(outputs).length} outputs written to ${perStack} (and ${last}, the last deploy's copy)`);
  if (Object.keys(outputs).length === 0) {
    print('Warning: the stack reports no outputs (moto drops them on change-set deploys; AWS does not)');
  }
  return outputs;
}

export const DEPLOY_FLAGS = {
  env: { type: 'string', help: `environment: ${environments().join(' | ')}`, required: true },
  bucket: { type: 'string', help: 'S3 bucket for the Lambda code and the template', required: true },
  'stack-name': { type: 'string', help: 'stack name, default tapstack-<env>' },
  region: { type: 'string', help: 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile in ~/.aws/config)' },
  params: { type: 'string', help: 'parameters file, default params/<env>.json' },
  'outputs-dir': { type: 'string', help: 'where the outputs files go, default $TAPSTACK_OUTPUTS_DIR or cfn-outputs/' },
  'no-email': { type: 'boolean', help: 'deploy a non-throwaway environment without NotificationEmail/OpsNotificationEmail' },
} as const;

/** npm run deploy: check the inputs, package the processor, `aws cloudformation deploy`, write the outputs. */
export async function deploy(argv: string[], print: (line: string) => void = console.log): Promise<Record<string, string>> {
  const flags = parseFlags('deploy', argv, DEPLOY_FLAGS, 'Packages the processor and deploys templates/TapStack.yml with the environment\'s parameters file.');
  const env = flags.env!;
  const paramsPath = flags.params ? resolve(flags.params) : join(PARAMS_DIR, `${env}.json`);
  const params = loadParams(env, flags.params ? paramsPath : undefined);
  const shownParams = relative(ROOT, paramsPath).startsWith('..') ? paramsPath : relative(ROOT, paramsPath);
  checkParams(env, params, { file: shownParams, noEmail: flags['no-email'] === true });
  const stackName = flags['stack-name'] ?? `tapstack-${env}`;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new UsageError(`deploy: --stack-name '${stackName}' must start with a letter and hold only letters, digits and hyphens`);
  }
  assertBucketName('--bucket', flags.bucket!);
  const dir = outputsDir(flags['outputs-dir']);
  const target = await resolveTarget(flags.region);
  print(`Region ${target.region} (from ${target.regionSource})${target.endpoint ? `; endpoint ${target.endpoint} (AWS_ENDPOINT_URL)` : ''}`);
  const { credentials, source } = await resolveCredentials();
  print(`Credentials from ${source} (access key ${maskedKeyId(credentials.accessKeyId)})`);
  const code = await packageProcessor({ bucket: flags.bucket!, target, credentials }, print);
  const args = deployArgs({
    stackName,
    bucket: flags.bucket!,
    parameters: { ...params.Parameters, LambdaCodeS3Bucket: code.LambdaCodeS3Bucket, LambdaCodeS3Key: code.LambdaCodeS3Key },
    environment: env,
    target,
  });
  print(`aws ${args.join(' ')}`);
  // The CLI gets the identity and region resolved here, so both deploy as the same principal.
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: target.region,
    AWS_DEFAULT_REGION: target.region,
    ...(target.endpoint ? { AWS_ENDPOINT_URL: cliEndpoint(target.endpoint) } : {}),
  };
  delete childEnv.AWS_SESSION_TOKEN;
  if (credentials.sessionToken) childEnv.AWS_SESSION_TOKEN = credentials.sessionToken;
  delete childEnv.AWS_PROFILE;
  const run = spawnSync('aws', args, { stdio: ['ignore', 'inherit', 'inherit'], env: childEnv });
  if (run.error) throw new DeployError('The AWS CLI (aws) was not found: install it (python3 -m pip install awscli, or AWS CLI v2)', { cause: run.error });
  if (run.status !== 0) throw new DeployError(`aws cloudformation deploy failed (exit ${run.status}): see its output above`);
  const parameters = Object.fromEntries(Object.keys(TEMPLATE_PARAMETERS()).map((name) => [name, parameterValue(params, name)]));
  await attachSensorPolicy(new IoTClient(clientConfig(target, credentials)), parameters, print);
  await protectStack(new CloudFormationClient(clientConfig(target, credentials)), stackName, parameterValue(params, 'ThrowawayEnvironment') === 'true', print);
  const outputs = await writeOutputs(stackName, target, print, dir, credentials);
  // The traffic controllers' console: its build into the stack's bucket, its config from the outputs.
  if (!outputs.ConsoleBucketName) {
    print('Console: not uploaded (the stack reports no ConsoleBucketName output); run npm run deploy again once it does');
  } else {
    const build = await buildConsole();
    await publishConsole(
      build,
      deployedPageConfig(env, target.region, outputs),
      {
        bucket: outputs.ConsoleBucketName,
        distributionId: outputs.ConsoleDistributionId,
        s3: s3Client(target, credentials),
        cloudfront: new CloudFrontClient(clientConfig(target, credentials)),
      },
      print,
    );
    print(`Console: ${outputs.ConsoleUrl ?? '(see the ConsoleUrl output)'} (add users with npm run users -- add --env ${env} ...)`);
  }
  return outputs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain('deploy', async () => {
    await deploy(process.argv.slice(2));
  });
}
