/**
 * Resource defaults as data: how every table, queue, log group and topic of the stack is made
 * safe (encrypted with the stack key, TLS-only, tagged, retained unless the environment is a
 * throwaway one). Layers call these instead of repeating the blocks (Solutions Constructs'
 * `*-defaults.ts` pattern).
 */
import { DynamoDB, Logs, SNS, SQS, type DeletionPolicy, type IntrinsicFunction, type ResourceBase, type ResourceTag } from 'cloudform-types';
import type { TableProperties } from 'cloudform-types/types/dynamoDb/table';
import './cfn-extensions';
import type { StackConfig } from './config';
import type { Layer } from './layer';
import { denyInsecureTransport, policyDocument, publisherStatement, type PolicyStatement, type ServicePublisher } from './iam';
import { arnOf, ifCondition, ref, sub } from './intrinsics';
import { metric, type Metric } from './metrics';
import { LogicalId, physicalName, type LogicalIdName } from './names';
import { Cond, Param, param } from './parameters';

/** The part of the config every tagged resource needs. */
export type TagConfig = Pick<StackConfig, 'project'>;

/** Project and Environment tags, on every taggable resource. */
export function tags(config: TagConfig, extra: Record<string, string> = {}): ResourceTag[] {
  return [
    { Key: 'Project', Value: config.project },
    { Key: 'Environment', Value: param(Param.EnvironmentSuffix) },
    ...Object.entries(extra).map(([Key, Value]) => ({ Key, Value })),
  ];
}

/**
 * Data stores keep their data on stack deletion and on replacement, unless the stack is a
 * throwaway environment. Fn::If in these attributes needs the AWS::LanguageExtensions transform.
 */
export function retainUnlessThrowaway<T extends ResourceBase>(resource: T): T {
  const policy = ifCondition(Cond.IsThrowaway, 'Delete', 'Retain');
  // cloudform-types types DeletionPolicy as a plain enum; the transform allows an intrinsic here.
  resource.DeletionPolicy = policy as unknown as DeletionPolicy;
  resource.UpdateReplacePolicy = policy;
  return resource;
}

/** What the stack's buckets are: no public access, no ACLs (the owner owns every object), versioned. */
export const PRIVATE_VERSIONED_BUCKET = {
  PublicAccessBlockConfiguration: {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  },
  OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' as const }] },
  VersioningConfiguration: { Status: 'Enabled' as const },
};

const stackKeyArn = (): IntrinsicFunction => arnOf(LogicalId.EncryptionKey);

/** A table's or an index's KeySchema: its partition key, and its sort key if it has one. */
export const keySchema = (hash: string, range?: string): { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[] => [
  { AttributeName: hash, KeyType: 'HASH' },
  ...(range === undefined ? [] : [{ AttributeName: range, KeyType: 'RANGE' as const }]),
];

/**
 * A DynamoDB table with point-in-time recovery, encryption with the stack key, deletion
 * protection (off in a throwaway environment), tags, and retained with its data.
 */
export function secureTable(config: TagConfig, properties: TableProperties): DynamoDB.Table {
  const table = new DynamoDB.Table({
    ...properties,
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: stackKeyArn() },
    DeletionProtectionEnabled: ifCondition(Cond.IsThrowaway, false, true),
    Tags: tags(config),
  });
  return retainUnlessThrowaway(table);
}

/**
 * A table keyed by one string attribute, on demand (no capacity to plan), secured as secureTable:
 * the shape of the small tables (sensor status, sensor health). `rest` follows the key (a TTL).
 */
export function onDemandTable(config: TagConfig, name: string, partitionKey: string, rest: Partial<TableProperties> = {}): DynamoDB.Table {
  return secureTable(config, {
    TableName: physicalName(name),
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
    KeySchema: keySchema(partitionKey),
    ...rest,
  });
}

/** A logical ID whose `<id>Policy` the registry declares: only these can name a topic or queue. */
export type PolicedId = { [K in LogicalIdName]: `${K}Policy` extends LogicalIdName ? K : never }[LogicalIdName];

/**
 * A topic's or queue's resources: the resource and its policy under their logical IDs (`<id>`
 * then `<id>Policy`), so a layer that lists the one lists the other.
 */
function withPolicy(id: PolicedId, resource: ResourceBase, policy: ResourceBase): Layer['resources'] {
  const policyId: LogicalIdName = `${id}Policy`;
  return { [id]: resource, [policyId]: policy };
}

/** What may publish to a topic or send to a queue, besides the TLS-only deny every one gets. */
export interface ResourcePolicyOptions {
  /** AWS services allowed to publish or send, each from its source ARN (`publishOnlyFrom`). */
  publishers?: ServicePublisher[];
  /** Further statements (a Deny), after the publishers and before the TLS-only deny. */
  statements?: PolicyStatement[];
}

/**
 * The policy document of a topic or queue: each publisher's Allow of `publishAction`, the extra
 * statements, and last the deny of `tlsAction` without TLS.
 */
function resourcePolicy(publishAction: string, tlsAction: string, resource: unknown, options: ResourcePolicyOptions) {
  return policyDocument(
    ...(options.publishers ?? []).map((p) => publisherStatement(p, publishAction, resource)),
    ...(options.statements ?? []),
    denyInsecureTransport(tlsAction, resource),
  );
}

/** A metric of one of the stack's queues (AWS/SQS, by its name). */
export const queueMetric = (queue: LogicalIdName, name: 'ApproximateNumberOfMessagesVisible'): Metric =>
  metric('AWS/SQS', name, { QueueName: `\${${queue}.QueueName}` });

/**
 * An encrypted queue that keeps messages as long as SQS allows, and its policy: the publishers'
 * sqs:SendMessage, then TLS only. A FIFO queue deduplicates by each message's deduplication id,
 * in high-throughput mode (deduplication and throughput per message group).
 */
export function encryptedQueue(
  config: TagConfig & Pick<StackConfig, 'queueRetentionSeconds'>,
  name: string,
  queueId: PolicedId,
  options: { fifo?: boolean } & ResourcePolicyOptions = {},
): { queue: SQS.Queue; policy: SQS.QueuePolicy; resources: Layer['resources'] } {
  const queue = new SQS.Queue({
    QueueName: physicalName(options.fifo ? `${name}.fifo` : name),
    ...(options.fifo
      ? { FifoQueue: true, ContentBasedDeduplication: false, DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' }
      : {}),
    KmsMasterKeyId: stackKeyArn(),
    KmsDataKeyReusePeriodSeconds: 300,
    MessageRetentionPeriod: config.queueRetentionSeconds,
    Tags: tags(config),
  });
  retainUnlessThrowaway(queue);
  const policy = new SQS.QueuePolicy({
    Queues: [ref(queueId)],
    PolicyDocument: resourcePolicy('sqs:SendMessage', 'sqs:*', arnOf(queueId), options),
  });
  return { queue, policy, resources: withPolicy(queueId, queue, policy) };
}

/**
 * A log group encrypted with the stack key, kept LogRetentionDays, and kept with the stack's other
 * data when the stack is deleted or the group replaced (unless the environment is a throwaway
 * one): a deleted stack's logs are often what explains why it was deleted. `name` is an Fn::Sub pattern.
 */
export function logGroup(config: TagConfig, name: string): Logs.LogGroup {
  const group = new Logs.LogGroup({
    LogGroupName: sub(name),
    RetentionInDays: param(Param.LogRetentionDays),
    KmsKeyId: stackKeyArn(),
    Tags: tags(config),
  });
  return retainUnlessThrowaway(group);
}

/**
 * An SNS topic encrypted with the stack key, and its policy: the publishers' sns:Publish, the
 * extra statements, then TLS only (Solutions Constructs' buildTopic pattern).
 */
export function encryptedTopic(
  config: TagConfig,
  name: string,
  displayName: string,
  topicId: PolicedId,
  options: ResourcePolicyOptions = {},
): { topic: SNS.Topic; policy: SNS.TopicPolicy; resources: Layer['resources'] } {
  const topic = new SNS.Topic({
    TopicName: physicalName(name),
    DisplayName: displayName,
    KmsMasterKeyId: stackKeyArn(),
    Tags: tags(config),
  });
  const policy = new SNS.TopicPolicy({
    Topics: [ref(topicId)],
    // A topic's resource policy governs sns:Publish for other principals; the TLS deny is on it.
    PolicyDocument: resourcePolicy('sns:Publish', 'sns:Publish', ref(topicId), options),
  });
  return { topic, policy, resources: withPolicy(topicId, topic, policy) };
}
