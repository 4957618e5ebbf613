/** IAM policy documents, and the actions each kind of principal needs on each kind of resource. */
import type { IntrinsicFunction } from 'cloudform-types';
import { accountId, sub } from './intrinsics';

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export const policyDocument = (...Statement: PolicyStatement[]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement,
});

export const allow = (
  Sid: string,
  Action: readonly string[],
  Resource: unknown,
  Condition?: PolicyStatement['Condition'],
): PolicyStatement => ({
  Sid,
  Effect: 'Allow',
  Action: [...Action],
  Resource,
  ...(Condition ? { Condition } : {}),
});

/** Deny every request to a resource that does not come over TLS. */
export function denyInsecureTransport(action: string | string[], resource: unknown): PolicyStatement {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: action,
    Resource: resource,
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}

/**
 * An AWS service allowed to publish to (send to) one topic or queue, and only on behalf of the
 * named source (cross-service confused-deputy protection:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). The topic or queue helper
 * in `defaults.ts` turns it into the Allow statement with its own action and resource.
 */
export interface ServicePublisher {
  Sid: string;
  service: string;
  Condition: NonNullable<PolicyStatement['Condition']>;
}

/**
 * `service` may publish only from `sourceArn` (one ARN or a list, matched with ArnEquals). With
 * `like`, `sourceArn` is a pattern (ArnLike) and the statement also pins aws:SourceAccount, as the
 * page above asks when an ARN has wildcards.
 */
export function publishOnlyFrom(service: string, sourceArn: unknown, options: { sid: string; like?: boolean }): ServicePublisher {
  const Condition: ServicePublisher['Condition'] = options.like
    ? { StringEquals: { 'aws:SourceAccount': accountId }, ArnLike: { 'aws:SourceArn': sourceArn } }
    : { ArnEquals: { 'aws:SourceArn': sourceArn } };
  return { Sid: options.sid, service, Condition };
}

/** The Allow statement for a publisher: its service principal, `action` on `resource`, under its condition. */
export function publisherStatement(publisher: ServicePublisher, action: string, resource: unknown): PolicyStatement {
  return {
    Sid: publisher.Sid,
    Effect: 'Allow',
    Principal: { Service: publisher.service },
    Action: action,
    Resource: resource,
    Condition: publisher.Condition,
  };
}

/**
 * The trust policy of a role assumed by one AWS service. Pass a condition (confused-deputy
 * protection) where the service documents one for role assumption.
 */
export function assumedBy(service: string, Condition?: PolicyStatement['Condition']): PolicyDocument {
  return policyDocument({
    Effect: 'Allow',
    Principal: { Service: service },
    Action: 'sts:AssumeRole',
    ...(Condition ? { Condition } : {}),
  });
}

/** `arn:${Partition}:<service>:<region>:<account>:<resource>`. */
export const arn = (service: string, resource: string): IntrinsicFunction =>
  sub(`arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`);

/** What a consumer of a Kinesis stream needs on it, per consumer. */
export const KINESIS_ACTIONS = {
  /**
   * A Lambda event source mapping (the AWSLambdaKinesisExecutionRole managed policy, less
   * ListStreams and the enhanced fan-out actions this stack does not use):
   * https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-permissions.html
   */
  lambdaEventSource: [
    'kinesis:DescribeStream',
    'kinesis:DescribeStreamSummary',
    'kinesis:GetRecords',
    'kinesis:GetShardIterator',
    'kinesis:ListShards',
  ],
  /** A writer (the IoT topic rule's Kinesis action). */
  put: ['kinesis:PutRecord', 'kinesis:PutRecords'],
} as const;

/** What CloudWatch Logs delivery needs on a log group (`<arn>:*`, its streams). */
export const LOGS_WRITE_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'] as const;

/** Envelope encryption with a KMS key through a service: read and write. */
export const KMS_USE_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;
