import { CloudFormationClient, DeleteStackCommand, DescribeStacksCommand, ListStackResourcesCommand, UpdateTerminationProtectionCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DeleteTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { IoTClient, ListTargetsForPolicyCommand } from '@aws-sdk/client-iot';
import { DeleteStreamCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { DeleteBucketCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { PROCESSOR_RESOURCES, type OutputBinding } from '../../../contract';
import { retainedLogicalIds, teardown } from '../../../scripts/teardown';

describe('teardown', () => {
  const cfn = mockClient(CloudFormationClient);
  const s3 = mockClient(S3Client);
  const iot = mockClient(IoTClient);
  const ddb = mockClient(DynamoDBClient);
  const kinesis = mockClient(KinesisClient);
  const sqs = mockClient(SQSClient);
  const logs = mockClient(CloudWatchLogsClient);
  afterEach(() => [cfn, s3, iot, ddb, kinesis, sqs, logs].forEach((m) => m.reset()));

  it('retains the data stores unless the environment is throwaway, as the template says', () => {
    expect(retainedLogicalIds(true)).toEqual([]);
    // readings, alert state, sensor health, sensor status; the key; the stream; the raw-data, access-log,
    // console and console-log buckets; the IoT rule error, Firehose, processor, detector, console API and
    // console API access log groups; processor DLQ, alert DLQ, detector DLQ and the queues the processor's
    // outputs create (the quarantine: contract/outputs.ts); the console's users
    const outputQueues = Object.values(PROCESSOR_RESOURCES as Record<string, OutputBinding>).filter((b) => b.creates?.kind === 'queue').length;
    expect(outputQueues).toBeGreaterThanOrEqual(1);
    expect(retainedLogicalIds(false).map((r) => r.type).sort()).toEqual([
      'AWS::Cognito::UserPool',
      ...Array(4).fill('AWS::DynamoDB::Table'),
      'AWS::KMS::Key',
      'AWS::Kinesis::Stream',
      ...Array(6).fill('AWS::Logs::LogGroup'),
      ...Array(4).fill('AWS::S3::Bucket'),
      ...Array(3 + outputQueues).fill('AWS::SQS::Queue'),
    ]);
  });

  it('deletes the stack, waits for it, then deletes each confirmed retained store (protection off first) and leaves the key', async () => {
    const physical: Record<string, [string, string]> = {
      ReadingsTable: ['AWS::DynamoDB::Table', 'tapstack-prod-readings'],
      AlertStateTable: ['AWS::DynamoDB::Table', 'tapstack-prod-alert-state'],
      ReadingsStream: ['AWS::Kinesis::Stream', 'tapstack-prod-readings'],
      QuarantineQueue: ['AWS::SQS::Queue', 'https://sqs/q.fifo'],
      ProcessorDeadLetterQueue: ['AWS::SQS::Queue', 'https://sqs/dlq'],
      AlertDeliveryDeadLetterQueue: ['AWS::SQS::Queue', 'https://sqs/adlq'],
      RawDataBucket: ['AWS::S3::Bucket', 'tapstack-prod-raw'],
      ProcessorLogGroup: ['AWS::Logs::LogGroup', '/aws/lambda/tapstack-prod-processor'],
      EncryptionKey: ['AWS::KMS::Key', 'key-1'],
      SensorPolicy: ['AWS::IoT::Policy', 'tapstack-prod-sensor'],
    };
    let deleted = false;
    cfn.on(DescribeStacksCommand).callsFake(() => {
      if (deleted) throw Object.assign(new Error('Stack with id tapstack-prod does not exist'), { name: 'ValidationError' });
      return { Stacks: [{ StackName: 'tapstack-prod', StackStatus: 'UPDATE_COMPLETE', EnableTerminationProtection: true, CreationTime: new Date(), Outputs: [{ OutputKey: 'StreamName', OutputValue: 'tapstack-prod-readings' }], Parameters: [{ ParameterKey: 'ThrowawayEnvironment', ParameterValue: 'false' }, { ParameterKey: 'EnvironmentSuffix', ParameterValue: 'prod' }] }] };
    });
    cfn.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: Object.entries(physical).map(([LogicalResourceId, [ResourceType, PhysicalResourceId]]) => ({ LogicalResourceId, ResourceType, PhysicalResourceId, ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() })),
    });
    cfn.on(DeleteStackCommand).callsFake(() => ((deleted = true), {}));
    cfn.on(UpdateTerminationProtectionCommand).resolves({});
    logs.on(DeleteLogGroupCommand).resolves({});
    s3.on(ListObjectVersionsCommand).resolves({ Versions: [], DeleteMarkers: [], IsTruncated: false });
    iot.on(ListTargetsForPolicyCommand).resolves({ targets: [] });
    const lines: string[] = [];
    const { done } = await teardown(['--env', 'prod'], {
      target: { region: 'eu-west-1' },
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      print: (l) => lines.push(l),
      // Keep the alert-state table: everything else goes.
      confirm: async (q) => !q.includes('alert-state'),
    });
    expect(done).toEqual([
      'turned off termination protection of tapstack-prod',
      'deleted stack tapstack-prod',
      'deleted AWS::Kinesis::Stream tapstack-prod-readings',
      'deleted AWS::SQS::Queue https://sqs/dlq',
      'deleted AWS::SQS::Queue https://sqs/q.fifo',
      'deleted AWS::Logs::LogGroup /aws/lambda/tapstack-prod-processor',
      'deleted AWS::DynamoDB::Table tapstack-prod-readings',
      'deleted AWS::SQS::Queue https://sqs/adlq',
      'deleted AWS::S3::Bucket tapstack-prod-raw',
    ]);
    expect(cfn.commandCalls(UpdateTerminationProtectionCommand).map((c) => c.args[0].input)).toEqual([{ StackName: 'tapstack-prod', EnableTerminationProtection: false }]);
    expect(ddb.commandCalls(UpdateTableCommand).map((c) => c.args[0].input)).toEqual([{ TableName: 'tapstack-prod-readings', DeletionProtectionEnabled: false }]);
    expect(ddb.commandCalls(DeleteTableCommand).map((c) => c.args[0].input.TableName)).toEqual(['tapstack-prod-readings']);
    expect(kinesis.commandCalls(DeleteStreamCommand)).toHaveLength(1);
    expect(sqs.commandCalls(DeleteQueueCommand)).toHaveLength(3);
    expect(s3.commandCalls(DeleteBucketCommand)).toHaveLength(1);
    expect(lines).toContain('After aws cloudformation delete-stack --stack-name tapstack-prod (ThrowawayEnvironment=false), these stay:');
    expect(lines.some((l) => l.startsWith('The KMS key key-1 stays.') && l.includes('aws kms schedule-key-deletion --key-id key-1 --pending-window-in-days 30'))).toBe(true);
  });
});
