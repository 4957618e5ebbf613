import { CloudFormationClient, DeleteStackCommand, DescribeStacksCommand, ListStackResourcesCommand, UpdateTerminationProtectionCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DeleteTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { IoTClient, ListTargetsForPolicyCommand } from '@aws-sdk/client-iot';
import { DeleteStreamCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { DeleteBucketCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDuration } from '../../scripts/lib/ops';
import { reasonKind, summarize } from '../../scripts/quarantine';
import { MAX_PUT_RECORDS } from '../../handlers/processor/limits';
import { alertMessage, chunkEntries, parseDlqMessage } from '../../scripts/redrive';
import { retainedLogicalIds, teardown } from '../../scripts/teardown';

describe('redrive helpers', () => {
  it('reads the failed batch from a Kinesis on-failure record, and refuses anything else', () => {
    const body = JSON.stringify({ KinesisBatchInfo: { shardId: 'shardId-000000000001', startSequenceNumber: '1', endSequenceNumber: '9', batchSize: 9, streamArn: 'arn' } });
    expect(parseDlqMessage(body)).toMatchObject({ shardId: 'shardId-000000000001', startSequenceNumber: '1', endSequenceNumber: '9', batchSize: 9 });
    expect(() => parseDlqMessage('{"hello":1}')).toThrow('not a Kinesis on-failure record');
  });

  it('puts at most 500 records and 5 MiB per PutRecords call', () => {
    const small = Array.from({ length: 10_000 }, (_, i) => ({ Data: Buffer.from(`{"n":${i}}`), PartitionKey: `s-${i}` }));
    const chunks = chunkEntries(small);
    expect(chunks).toHaveLength(20);
    expect(chunks.every((c) => c.length === MAX_PUT_RECORDS)).toBe(true);
    const big = Array.from({ length: 12 }, (_, i) => ({ Data: Buffer.alloc(1024 * 1024 - 10), PartitionKey: `s-${i}` }));
    expect(chunkEntries(big).map((c) => c.length)).toEqual([5, 5, 2]);
  });

  it("writes an undelivered alert as the rule's input transformer does", () => {
    const event = { detail: { level: 'WARNING', previous_level: 'NORMAL', sensor_id: 's"1', zone_id: 'z', congestion_index: 81, threshold: 80, reading_time: 't', alert_id: 'a' } };
    expect(alertMessage(event)).toBe('Traffic congestion WARNING (was NORMAL) at sensor s"1 in zone z: congestion index 81, threshold 80, reading at t. Alert a.');
  });
});

describe('quarantine helpers', () => {
  it('counts alike reasons together, whatever their particulars', () => {
    expect(reasonKind('timestamp: 412 s in the future, limit 300 s')).toBe('timestamp: N s in the future, limit N s');
    expect(reasonKind('not JSON: Unexpected token } in JSON at position 7')).toBe('not JSON');
    expect(reasonKind('sensor_id "a-1" does not match the publishing thing "b-2"')).toBe('sensor_id "…" does not match the publishing thing "…"');
    const s = summarize([{ reason: 'not base64', partition_key: 'a' }, { reason: 'not base64', partition_key: 'b' }, { reason: 'not base64', partition_key: 'a' }, undefined]);
    expect(s).toMatchObject({ total: 4, unreadable: 1, byKind: [{ kind: 'not base64', count: 3, sensors: 2 }], topSensors: [{ sensor: 'a', count: 2 }, { sensor: 'b', count: 1 }] });
  });

  it('reads durations with their unit, and names the flag otherwise', () => {
    expect(parseDuration('q', 'purge-older-than', '90s')).toBe(90_000);
    expect(parseDuration('q', 'purge-older-than', '7d')).toBe(7 * 86_400_000);
    expect(() => parseDuration('q', 'purge-older-than', '-1d')).toThrow("q: --purge-older-than takes a duration such as 90s, 30m, 12h or 7d, got '-1d'");
    expect(() => parseDuration('q', 'purge-older-than', '7')).toThrow('takes a duration');
  });
});

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
    // console API access log groups; quarantine, processor DLQ, alert DLQ, detector DLQ; the console's users
    expect(retainedLogicalIds(false).map((r) => r.type).sort()).toEqual([
      'AWS::Cognito::UserPool',
      ...Array(4).fill('AWS::DynamoDB::Table'),
      'AWS::KMS::Key',
      'AWS::Kinesis::Stream',
      ...Array(6).fill('AWS::Logs::LogGroup'),
      ...Array(4).fill('AWS::S3::Bucket'),
      ...Array(4).fill('AWS::SQS::Queue'),
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
