/**
 * npm run deploy -- --env <name> --bucket B [--stack-name S] [--region R] [--params FILE]
 *                   [--outputs-dir DIR] [--no-email]
 * Checks the parameters file against --env, resolves the region and credentials as the SDK and
 * the AWS CLI do (and prints them), packages the processor, uploads templates/TapStack.yml and
 * creates or updates the stack from it (createOrUpdateStack), then does what CloudFormation cannot:
 * attaches the sensor policy to the environment's sensor thing group, and turns termination
 * protection on outside throwaway environments; then writes the stack's outputs to
 * <outputs dir>/<stack name>.json and, as the last deploy's copy, <outputs dir>/flat-outputs.json;
 * finally uploads the console's build to its bucket (scripts/lib/console-publish.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
  UpdateTerminationProtectionCommand,
  type Capability,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { partition } from '@aws-sdk/core/client';
import { AttachPolicyCommand, CreateThingGroupCommand, DescribeThingGroupCommand, IoTClient } from '@aws-sdk/client-iot';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { ENVIRONMENT_SUFFIX_PATTERN } from '../contract';
import { buildTemplate } from '../template/index';
import { assertBucketName, clientConfig, DeployError, maskedKeyId, resolveCredentials, resolveTarget, type AwsTarget } from './aws';
import { motoTemplateBody } from './lib/moto-stack';
import { ROOT, TEMPLATE_PATH } from './lib/paths';
import { outputsDir, outputsOf, templateName, writeOutputsFiles } from './lib/outputs';
import { LogicalId } from '../template/names';
import { count, parseFlags, runMain, UsageError } from './cli';
import { packageProcessor, s3Client } from './package';
import { buildConsole } from './build-console';
import { CONSOLE_UPLOAD_OUTPUTS, deployedPageConfig } from './lib/console-config';
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

/** Reads params/<env>.json (or the --params file) and checks every name against the template's parameters; a missing file blames the flag that named it. */
export function loadParams(env: string, explicitPath?: string): ParamsFile {
  const explicit = explicitPath !== undefined;
  const path = explicitPath ?? join(PARAMS_DIR, `${env}.json`);
  const shown = relative(ROOT, path).startsWith('..') ? path : relative(ROOT, path);
  if (!ENVIRONMENT_SUFFIX_PATTERN.test(env)) {
    throw new UsageError(`deploy: --env '${env}' must be 1-12 lowercase letters or digits (it becomes EnvironmentSuffix); environments: ${environments().join(', ') || 'none'}`);
  }
  if (!existsSync(path)) {
    if (explicit) throw new UsageError(`deploy: --params ${shown} does not exist; give a parameters file (params/ has ${environments().map((e) => `${e}.json`).join(', ') || 'none'})`);
    throw new UsageError(`deploy: --env '${env}' has no ${shown}; environments: ${environments().join(', ') || 'none'}`);
  }
  let file: ParamsFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as ParamsFile;
  } catch (error) {
    throw new DeployError(`${explicit ? '--params ' : ''}${shown} is not valid JSON: ${(error as Error).message}`, { cause: error });
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

/**
 * Where the template is uploaded: <bucket>/templates/<sha256-12>.template (the template is larger
 * than the 51,200 bytes CloudFormation takes inline, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
 */
export function templateKey(body: string): string {
  return `templates/${createHash('sha256').update(body).digest('hex').slice(0, 12)}.template`;
}

/**
 * The TemplateURL CloudFormation reads the uploaded template from: the bucket's virtual-hosted S3
 * URL in the region's partition (`https://<bucket>.s3.<region>.<dnsSuffix>/<key>`); with an
 * emulator endpoint, a path-style URL on it, whose loopback IP (127.0.0.1, ::1) is written
 * `localhost`: moto 5 reads the bucket from a TemplateURL's path only when its host is
 * `localhost` (otherwise it takes the first label of the host, `127`, as the bucket).
 */
export function templateUrl(target: AwsTarget, bucket: string, key: string): string {
  if (!target.endpoint) return `https://${bucket}.s3.${target.region}.${partition(target.region).dnsSuffix}/${key}`;
  const url = new URL(target.endpoint);
  if (url.hostname === '127.0.0.1' || url.hostname === '[::1]') url.hostname = 'localhost';
  return `${url.toString().replace(/\/$/, '')}/${bucket}/${key}`;
}

/** Stack states a deploy cannot start from, with what to do. */
const BLOCKED: Record<string, string> = {
  ROLLBACK_COMPLETE: 'its creation failed and was rolled back: delete it (npm run teardown -- --env <env>), then deploy again',
  ROLLBACK_FAILED: 'its creation failed and so did the rollback: delete it (npm run teardown -- --env <env>), then deploy again',
  DELETE_FAILED: 'a deletion failed: finish it (npm run teardown -- --env <env>), then deploy again',
  REVIEW_IN_PROGRESS: 'a change set was created for it and never executed: execute or delete that change set (aws cloudformation list-change-sets), then deploy again',
  UPDATE_ROLLBACK_FAILED: 'an update rollback failed: continue it (aws cloudformation continue-update-rollback), then deploy again',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * CreateStack, or UpdateStack when the stack exists, from the uploaded template, then waits for
 * the outcome. This is what `aws cloudformation deploy` does with a change set it executes at
 * once; the stack APIs are used directly because an emulator (moto 5.2) loses the Outputs of a
 * stack made by a change set. An update with no change is not an error (as
 * `--no-fail-on-empty-changeset`). A failure lists every resource that failed, with its reason.
 */
export async function createOrUpdateStack(
  cfn: CloudFormationClient,
  o: { stackName: string; templateURL: string; parameters: Record<string, string>; environment: string; print: (line: string) => void; pollMs?: number },
): Promise<Stack> {
  let existing: Stack | undefined;
  try {
    existing = (await cfn.send(new DescribeStacksCommand({ StackName: o.stackName }))).Stacks?.[0];
  } catch (error) {
    if (!/does not exist/.test((error as Error).message)) throw error;
  }
  const status = existing?.StackStatus;
  if (status && BLOCKED[status]) throw new DeployError(`deploy: stack ${o.stackName} is ${status}: ${BLOCKED[status]}`);
  if (status?.endsWith('_IN_PROGRESS')) throw new DeployError(`deploy: stack ${o.stackName} is ${status}: wait until it is done, then deploy again`);
  const request = {
    StackName: o.stackName,
    TemplateURL: o.templateURL,
    // CAPABILITY_AUTO_EXPAND: the AWS::LanguageExtensions transform, processed without a change set
    // to review (CreateStack's Capabilities, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
    Capabilities: CAPABILITIES as Capability[],
    Parameters: Object.entries(o.parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
    Tags: [
      { Key: 'Project', Value: 'TapStack' },
      { Key: 'Environment', Value: o.environment },
    ],
  };
  const since = new Date();
  if (!existing || status === 'DELETE_COMPLETE') {
    o.print(`Creating stack ${o.stackName} …`);
    await cfn.send(new CreateStackCommand(request));
  } else {
    o.print(`Updating stack ${o.stackName} (${status}) …`);
    try {
      await cfn.send(new UpdateStackCommand(request));
    } catch (error) {
      if (/No updates are to be performed/.test((error as Error).message)) {
        o.print(`Stack ${o.stackName}: no changes to deploy`);
        return existing;
      }
      throw error;
    }
  }
  for (;;) {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: o.stackName }))).Stacks![0]!;
    if (!stack.StackStatus!.endsWith('_IN_PROGRESS')) {
      if (stack.StackStatus === 'CREATE_COMPLETE' || stack.StackStatus === 'UPDATE_COMPLETE') return stack;
      const events = (await cfn.send(new DescribeStackEventsCommand({ StackName: o.stackName }))).StackEvents ?? [];
      const failed = events.filter((e) => e.ResourceStatus?.endsWith('FAILED') && (!e.Timestamp || e.Timestamp >= since)).reverse();
      throw new DeployError(
        [
          `deploy: stack ${o.stackName} ended ${stack.StackStatus}${stack.StackStatusReason ? ` (${stack.StackStatusReason})` : ''}; what failed:`,
          ...(failed.length ? failed.map((e) => `  ${e.LogicalResourceId} (${e.ResourceType}) ${e.ResourceStatus}: ${e.ResourceStatusReason ?? ''}`) : ['  (no failed resource reported: aws cloudformation describe-stack-events)']),
        ].join('\n'),
      );
    }
    await sleep(o.pollMs ?? 2_000);
  }
}

/**
 * Attaches the sensor policy to the environment's sensor thing group, which is how every sensor gets
 * it (template/layers/provisioning.ts THING_LAYOUT): CloudFormation cannot attach an IoT policy to a thing
 * group (AWS::IoT::PolicyPrincipalAttachment takes certificates: https://github.com/aws/aws-cdk/issues/26166),
 * so no provisioning role needs AttachPolicy. AttachPolicy is idempotent; the names are the
 * template's own (moto reports an IoT policy's physical ID unusably). The group is the stack's; an emulator that does not create AWS::IoT::ThingGroup gets it here.
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
 * Neither CreateStack's nor `aws cloudformation deploy`'s defaults turn it on. npm run teardown turns it off after asking.
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
  const outputs = outputsOf(stack);
  const [perStack, last] = writeOutputsFiles(dir, stackName, outputs).map((p) => (relative(ROOT, p).startsWith('..') ? p : relative(ROOT, p)));
  print(`Stack ${stackName}: ${stack?.StackStatus}; ${count(Object.keys(outputs).length, 'output')} written to ${perStack} (and ${last}, the last deploy's copy)`);
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
  // An emulator (AWS_ENDPOINT_URL: moto) gets the template without the outputs of the types it skips.
  const body = target.endpoint ? motoTemplateBody() : readFileSync(TEMPLATE_PATH, 'utf8');
  const key = templateKey(body);
  await s3Client(target, credentials).send(new PutObjectCommand({ Bucket: flags.bucket!, Key: key, Body: body }));
  const templateURL = templateUrl(target, flags.bucket!, key);
  print(`Template: ${templateURL} (${Buffer.byteLength(body).toLocaleString('en-US')} bytes)`);
  await createOrUpdateStack(new CloudFormationClient(clientConfig(target, credentials)), {
    stackName,
    templateURL,
    parameters: { ...params.Parameters, LambdaCodeS3Bucket: code.LambdaCodeS3Bucket, LambdaCodeS3Key: code.LambdaCodeS3Key },
    environment: env,
    print,
    pollMs: target.endpoint ? 250 : 5_000,
  });
  const parameters = Object.fromEntries(Object.keys(TEMPLATE_PARAMETERS()).map((name) => [name, parameterValue(params, name)]));
  await attachSensorPolicy(new IoTClient(clientConfig(target, credentials)), parameters, print);
  await protectStack(new CloudFormationClient(clientConfig(target, credentials)), stackName, parameterValue(params, 'ThrowawayEnvironment') === 'true', print);
  const outputs = await writeOutputs(stackName, target, print, dir, credentials);
  // The traffic controllers' console: its build into the stack's bucket, its config from the outputs.
  const missing = CONSOLE_UPLOAD_OUTPUTS.filter((key) => !outputs[key]);
  if (missing.length > 0) {
    // Only an emulator that skips CloudFront or Cognito (moto) reports a stack without them.
    print(`Console: not uploaded (the stack reports no ${missing.join(', ')} output${missing.length > 1 ? 's' : ''}); run npm run deploy again once it does`);
  } else {
    const build = await buildConsole();
    await publishConsole(
      build,
      deployedPageConfig(env, target.region, outputs),
      {
        bucket: outputs.ConsoleBucketName!,
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
