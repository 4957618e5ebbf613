/**
 * npm run teardown -- --env E [--yes] [--dry-run]
 *
 * Says what `delete-stack` would leave behind, then removes what the operator confirms:
 * - data stores the template retains unless ThrowawayEnvironment is 'true' (the key, the stream,
 *   the queues, the tables with their deletion protection, the buckets, the log groups): read from the
 *   template's DeletionPolicy, evaluated with the stack's own parameter;
 * - a non-empty bucket: CloudFormation cannot delete it, the stack ends DELETE_FAILED ("you cannot
 *   delete a resource, such as a non-empty S3 bucket",
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html);
 * - the sensor IoT policy while it is attached (to the sensor thing group, by npm run deploy; to
 *   certificates, by stacks of earlier versions): IoT refuses to delete an attached policy
 *   (DeleteConflictException, and for up to five minutes after it was detached:
 *   https://docs.aws.amazon.com/iot/latest/apireference/API_DeletePolicy.html),
 *   and the certificates and things themselves (created by npm run provision, not by the stack);
 * - termination protection, which npm run deploy turns on outside throwaway environments: DeleteStack
 *   fails while it is on (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html).
 * Every step asks first, on a terminal; with no terminal it refuses unless --yes (yes to every step).
 * --dry-run prints the report and changes nothing.
 */
import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  UpdateTerminationProtectionCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CognitoIdentityProviderClient, DeleteUserPoolCommand, UpdateUserPoolCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DeleteTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DeleteCertificateCommand,
  DetachPolicyCommand,
  DetachThingPrincipalCommand,
  IoTClient,
  ListPrincipalThingsCommand,
  ListTargetsForPolicyCommand,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import { DeleteStreamCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectVersionsCommand, S3Client, type ObjectIdentifier } from '@aws-sdk/client-s3';
import { DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildTemplate } from '../template/index';
import { LogicalId } from '../template/names';
import { DeployError } from './aws';
import { count, parseFlags, runMain, unreadableAnswer } from './cli';
import { terminalConfirm, type Confirm } from './lib/confirm';
import { opsContext, STACK_FLAGS, templateName, type OpsContext, type OpsDeps } from './lib/ops';

export const TEARDOWN_FLAGS = {
  ...STACK_FLAGS,
  yes: { type: 'boolean', help: 'answer yes to every step (needed without a terminal)' },
  'dry-run': { type: 'boolean', help: 'say what would stay and what would be removed; change nothing' },
} as const;

/** S3 DeleteObjects takes at most 1,000 keys. */
const MAX_DELETE_OBJECTS = 1000;

/**
 * The logical IDs the template keeps on stack deletion for a given ThrowawayEnvironment value:
 * DeletionPolicy `Retain`, or `Fn::If [IsThrowaway, Delete, Retain]` when not throwaway.
 */
export function retainedLogicalIds(throwaway: boolean): { logicalId: string; type: string }[] {
  return Object.entries(buildTemplate().Resources as Record<string, { Type: string; DeletionPolicy?: unknown }>)
    .filter(([, r]) => {
      const policy = r.DeletionPolicy;
      if (policy === 'Retain' || policy === 'RetainExceptOnCreate') return true;
      const when = (policy as { 'Fn::If'?: [string, string, string] } | undefined)?.['Fn::If'];
      if (!when) return false;
      const [condition, ifTrue, ifFalse] = when;
      const value = condition === 'IsThrowaway' ? (throwaway ? ifTrue : ifFalse) : ifFalse;
      return value === 'Retain';
    })
    .map(([logicalId, r]) => ({ logicalId, type: r.Type }));
}

export interface Leftover {
  logicalId: string;
  type: string;
  physicalId: string;
  /** Why it stays after delete-stack. */
  why: string;
}

export interface TeardownPlan {
  stackName: string;
  throwaway: boolean;
  retained: Leftover[];
  buckets: { name: string; objects: number; retained: boolean }[];
  /** The sensor policy and what it is attached to: thing groups (npm run deploy) and certificates (earlier versions). */
  policy?: { name: string; groups: string[]; certificates: string[] };
  terminationProtection: boolean;
}

async function countObjectVersions(s3: S3Client, bucket: string): Promise<number> {
  let count = 0;
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker, VersionIdMarker }));
    count += (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0);
    if (!page.IsTruncated) return count;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
}

/** Deletes every object version and delete marker (the bucket is versioned); answers how many. */
async function emptyBucket(s3: S3Client, bucket: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: MAX_DELETE_OBJECTS }));
    const objects: ObjectIdentifier[] = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
    if (objects.length === 0) return deleted;
    for (let i = 0; i < objects.length; i += MAX_DELETE_OBJECTS) {
      const out = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects.slice(i, i + MAX_DELETE_OBJECTS), Quiet: true } }));
      if ((out.Errors ?? []).length > 0) throw new DeployError(`teardown: S3 refused to delete ${out.Errors!.length} objects of ${bucket}: ${out.Errors![0]!.Code} ${out.Errors![0]!.Message}`);
      deleted += Math.min(MAX_DELETE_OBJECTS, objects.length - i);
    }
  }
}

async function listTargets(iot: IoTClient, policyName: string): Promise<string[]> {
  const targets: string[] = [];
  let marker: string | undefined;
  do {
    const page = await iot.send(new ListTargetsForPolicyCommand({ policyName, marker, pageSize: 250 }));
    targets.push(...(page.targets ?? []));
    marker = page.nextMarker;
  } while (marker);
  return targets;
}

/** What would stay after delete-stack, from the stack's resources and parameters and the template. */
export async function teardownPlan(ctx: OpsContext): Promise<TeardownPlan> {
  const cfn = new CloudFormationClient(ctx.config);
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: ctx.stackName }))).Stacks![0]!;
  const throwaway = stack.Parameters?.find((p) => p.ParameterKey === 'ThrowawayEnvironment')?.ParameterValue === 'true';
  const resources: StackResourceSummary[] = [];
  let NextToken: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: ctx.stackName, NextToken }));
    resources.push(...(page.StackResourceSummaries ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  const physical = new Map(resources.map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]));

  const retainedIds = retainedLogicalIds(throwaway);
  const retained: Leftover[] = retainedIds
    .filter((r) => physical.has(r.logicalId))
    .map((r) => ({
      ...r,
      physicalId: physical.get(r.logicalId)!,
      why:
        r.type === 'AWS::DynamoDB::Table' || r.type === 'AWS::Cognito::UserPool'
          ? 'retained (ThrowawayEnvironment=false), deletion protection on'
          : 'retained (ThrowawayEnvironment=false)',
    }));

  const s3 = new S3Client({ ...ctx.config, ...(ctx.target.endpoint ? { forcePathStyle: true } : {}) });
  const buckets: TeardownPlan['buckets'] = [];
  for (const r of resources.filter((x) => x.ResourceType === 'AWS::S3::Bucket')) {
    buckets.push({ name: r.PhysicalResourceId!, objects: await countObjectVersions(s3, r.PhysicalResourceId!), retained: retainedIds.some((x) => x.logicalId === r.LogicalResourceId) });
  }

  const parameters = Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey!, p.ParameterValue!]));
  const reported = physical.get(LogicalId.SensorPolicy);
  // IoT policy names: [\w+=,.@-]+ (https://docs.aws.amazon.com/iot/latest/apireference/API_CreatePolicy.html).
  const policyName = reported && /^[\w+=,.@-]+$/.test(reported) ? reported : templateName(LogicalId.SensorPolicy, 'PolicyName', parameters);
  const targets = policyName ? await listTargets(new IoTClient(ctx.config), policyName) : [];
  const policy = policyName
    ? { name: policyName, groups: targets.filter((t) => t.includes(':thinggroup/')), certificates: targets.filter((t) => !t.includes(':thinggroup/')) }
    : undefined;
  return { stackName: ctx.stackName, throwaway, retained, buckets, ...(policy ? { policy } : {}), terminationProtection: stack.EnableTerminationProtection === true };
}

export function planLines(plan: TeardownPlan): string[] {
  const lines = [`After aws cloudformation delete-stack --stack-name ${plan.stackName} (ThrowawayEnvironment=${plan.throwaway}), these stay:`];
  for (const r of plan.retained) lines.push(`  - ${r.type} ${r.physicalId}: ${r.why}`);
  for (const b of plan.buckets.filter((x) => x.objects > 0 && !x.retained)) {
    lines.push(`  - AWS::S3::Bucket ${b.name}: ${count(b.objects, 'object version')}; CloudFormation cannot delete a non-empty bucket (the stack ends DELETE_FAILED)`);
  }
  if (plan.policy && plan.policy.groups.length + plan.policy.certificates.length > 0) {
    const { name, groups, certificates } = plan.policy;
    lines.push(
      `  - AWS::IoT::Policy ${name}: attached to ${[groups.length ? `thing group(s) ${groups.map((g) => g.slice(g.lastIndexOf('/') + 1)).join(', ')}` : '', certificates.length ? count(certificates.length, 'certificate') : ''].filter(Boolean).join(' and ')}, ` +
        'so IoT refuses to delete it (the stack ends DELETE_FAILED); the certificates and things are not part of the stack and stay too',
    );
  }
  if (lines.length === 1) lines.push('  nothing: every resource goes with the stack.');
  if (plan.terminationProtection) lines.push(`Termination protection is on for ${plan.stackName} (npm run deploy sets it outside throwaway environments): delete-stack fails until it is turned off.`);
  return lines;
}

/** Acts on the plan, step by step, each after a confirmation; answers what was done. */
async function execute(ctx: OpsContext, plan: TeardownPlan, confirm: Confirm): Promise<string[]> {
  const done: string[] = [];
  const s3 = new S3Client({ ...ctx.config, ...(ctx.target.endpoint ? { forcePathStyle: true } : {}) });
  const iot = new IoTClient(ctx.config);

  for (const b of plan.buckets.filter((x) => x.objects > 0)) {
    if (await confirm(`Empty bucket ${b.name} (${count(b.objects, 'object version')}, raw readings and Athena results)?`)) {
      done.push(`emptied ${b.name} (${count(await emptyBucket(s3, b.name), 'object version')})`);
    }
  }
  if (plan.policy && plan.policy.groups.length + plan.policy.certificates.length > 0) {
    const { name, groups, certificates } = plan.policy;
    const what = [groups.length ? `thing group(s) ${groups.map((g) => g.slice(g.lastIndexOf('/') + 1)).join(', ')}` : '', certificates.length ? count(certificates.length, 'certificate') : ''].filter(Boolean).join(' and ');
    if (await confirm(`Detach IoT policy ${name} from ${what} (those sensors can no longer connect)?`)) {
      for (const target of [...groups, ...certificates]) await iot.send(new DetachPolicyCommand({ policyName: name, target }));
      done.push(`detached ${name} from ${what}`);
      if (certificates.length > 0 && (await confirm(`Also deactivate and delete ${certificates.length === 1 ? 'that certificate' : `those ${count(certificates.length, 'certificate')}`} (their things stay)?`))) {
        for (const arn of certificates) {
          const things = (await iot.send(new ListPrincipalThingsCommand({ principal: arn }))).things ?? [];
          for (const thingName of things) await iot.send(new DetachThingPrincipalCommand({ thingName, principal: arn }));
          const certificateId = arn.slice(arn.lastIndexOf('/') + 1);
          await iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'INACTIVE' }));
          await iot.send(new DeleteCertificateCommand({ certificateId }));
        }
        done.push(`deleted ${count(certificates.length, 'certificate')}`);
      }
    }
  }

  const cfn = new CloudFormationClient(ctx.config);
  if (!(await confirm(`Delete stack ${plan.stackName}?`))) return done;
  if (plan.terminationProtection) {
    if (!(await confirm(`Turn off termination protection of ${plan.stackName} (a production stack: this is what stands between it and a mistaken delete)?`))) return done;
    await cfn.send(new UpdateTerminationProtectionCommand({ StackName: plan.stackName, EnableTerminationProtection: false }));
    done.push(`turned off termination protection of ${plan.stackName}`);
  }
  try {
    await cfn.send(new DeleteStackCommand({ StackName: plan.stackName }));
  } catch (error) {
    // moto 5.2 deletes the stack's resources, then fails on the thing type its CreateStack never
    // made and answers with a JSON error page (the SDK: "XML parse error"): what counts is whether
    // the stack is gone, which the wait below reads.
    const answer = unreadableAnswer(error);
    if (!answer) throw error;
    ctx.print(`warning: DeleteStack: ${answer}; reading the stack's status to see whether it was deleted`);
  }
  const status = await waitForDeletion(cfn, plan.stackName);
  if (status !== 'DELETE_COMPLETE') {
    const detached = done.some((d) => d.startsWith('detached '));
    throw new DeployError(
      `teardown: stack ${plan.stackName} ended ${status}: see its events (aws cloudformation describe-stack-events --stack-name ${plan.stackName})${detached ? '; IoT may refuse to delete a policy for up to five minutes after it was detached: run npm run teardown again then' : ''}`,
    );
  }
  done.push(`deleted stack ${plan.stackName}`);

  for (const r of plan.retained) {
    if (r.type === 'AWS::KMS::Key') continue;
    if (!(await confirm(`Delete retained ${r.type} ${r.physicalId} and its data?`))) continue;
    try {
      await deleteRetained(ctx, r, s3);
      done.push(`deleted ${r.type} ${r.physicalId}`);
    } catch (error) {
      if (/not found|does not exist|NonExistent|ResourceNotFound/i.test(`${(error as Error).name} ${(error as Error).message}`)) done.push(`${r.type} ${r.physicalId} was already gone`);
      else throw error;
    }
  }
  const key = plan.retained.find((r) => r.type === 'AWS::KMS::Key');
  if (key) {
    ctx.print(
      `The KMS key ${key.physicalId} stays. Once no retained table, stream, queue, bucket or log group holds data it encrypted: aws kms schedule-key-deletion --key-id ${key.physicalId} --pending-window-in-days 30`,
    );
  }
  return done;
}

async function deleteRetained(ctx: OpsContext, r: Leftover, s3: S3Client): Promise<void> {
  switch (r.type) {
    case 'AWS::DynamoDB::Table': {
      const ddb = new DynamoDBClient(ctx.config);
      await ddb.send(new UpdateTableCommand({ TableName: r.physicalId, DeletionProtectionEnabled: false }));
      await ddb.send(new DeleteTableCommand({ TableName: r.physicalId }));
      return;
    }
    case 'AWS::Kinesis::Stream':
      await new KinesisClient(ctx.config).send(new DeleteStreamCommand({ StreamName: r.physicalId, EnforceConsumerDeletion: true }));
      return;
    case 'AWS::SQS::Queue':
      await new SQSClient(ctx.config).send(new DeleteQueueCommand({ QueueUrl: r.physicalId }));
      return;
    case 'AWS::Cognito::UserPool': {
      // The console's users. UpdateUserPool resets what it is not given, but the pool is deleted next.
      const cognito = new CognitoIdentityProviderClient(ctx.config);
      await cognito.send(new UpdateUserPoolCommand({ UserPoolId: r.physicalId, DeletionProtection: 'INACTIVE' }));
      await cognito.send(new DeleteUserPoolCommand({ UserPoolId: r.physicalId }));
      return;
    }
    case 'AWS::S3::Bucket':
      await emptyBucket(s3, r.physicalId);
      await s3.send(new DeleteBucketCommand({ Bucket: r.physicalId }));
      return;
    case 'AWS::Logs::LogGroup':
      await new CloudWatchLogsClient(ctx.config).send(new DeleteLogGroupCommand({ logGroupName: r.physicalId }));
      return;
    default:
      throw new DeployError(`teardown: no way to delete ${r.type} ${r.physicalId} here: delete it in the console`);
  }
}

async function waitForDeletion(cfn: CloudFormationClient, stackName: string): Promise<string> {
  const deadline = Date.now() + 60 * 60_000;
  for (;;) {
    let status: string | undefined;
    try {
      status = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]?.StackStatus;
    } catch (error) {
      if (/does not exist/.test((error as Error).message)) return 'DELETE_COMPLETE';
      throw error;
    }
    if (!status || status === 'DELETE_COMPLETE' || !status.endsWith('_IN_PROGRESS')) return status ?? 'DELETE_COMPLETE';
    if (Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

export async function teardown(argv: string[], deps: OpsDeps = {}): Promise<{ plan: TeardownPlan; done: string[] }> {
  const flags = parseFlags('teardown', argv, TEARDOWN_FLAGS, 'Deletes a stack and, step by step after asking, what it would leave behind.');
  const dryRun = flags['dry-run'] === true;
  // Refuse before reading anything when no one can answer.
  const confirm = dryRun ? async () => false : (deps.confirm ?? terminalConfirm('teardown', flags.yes === true));
  const ctx = await opsContext('teardown', flags, [], deps);
  const plan = await teardownPlan(ctx);
  for (const line of planLines(plan)) ctx.print(line);
  if (dryRun) return { plan, done: [] };
  const done = await execute(ctx, plan, confirm);
  ctx.print(done.length > 0 ? `Done: ${done.join('; ')}.` : 'Nothing changed.');
  return { plan, done };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain('teardown', async () => {
    await teardown(process.argv.slice(2));
  });
}
