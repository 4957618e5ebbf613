/** The Kinesis stream between IoT Core and the processor (and Firehose). */
import { Kinesis } from 'cloudform-types';
import { KinesisResourcePolicy } from '../cfn-extensions';
import { retainUnlessThrowaway, tags, type TagConfig } from '../defaults';
import { KINESIS_ACTIONS, policyDocument } from '../iam';
import { exported, type Layer } from '../layer';
import { arnOf, ifCondition, ref, sub } from '../intrinsics';
import { alarmMetric, metric, type Metric } from '../metrics';
import { LogicalId, physicalName } from '../names';
import { Cond, Param, param } from '../parameters';

/** A metric of the readings stream (AWS/Kinesis). */
export const streamMetric = (name: 'IncomingRecords' | 'WriteProvisionedThroughputExceeded'): Metric =>
  metric('AWS/Kinesis', name, { StreamName: `\${${LogicalId.ReadingsStream}}` });

/** The readings stream (provisioned shards or on demand), encrypted with the stack key, and its throttling alarm. */
export function buildStream(config: TagConfig): Layer {
  const stream = new Kinesis.Stream({
    Name: physicalName('readings'),
    StreamModeDetails: { StreamMode: param(Param.KinesisStreamMode) },
    ShardCount: ifCondition(Cond.IsStreamProvisioned, param(Param.KinesisShardCount)),
    RetentionPeriodHours: param(Param.StreamRetentionHours),
    StreamEncryption: { EncryptionType: 'KMS', KeyId: arnOf(LogicalId.EncryptionKey) },
    Tags: tags(config),
  });
  retainUnlessThrowaway(stream);

  // Only the topic rule (and the operator, for npm run redrive) puts records on the stream: the
  // partition key and the record are what the processor trusts as IoT Core's word, so nobody else in
  // the account may write them (a Deny in the stream's resource policy, whatever their IAM policies
  // allow: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
  const writers = ifCondition(
    Cond.HasOperatorRole,
    [arnOf(LogicalId.TopicRuleRole), sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${OperatorRoleName}')],
    [arnOf(LogicalId.TopicRuleRole)],
  );
  const streamPolicy = new KinesisResourcePolicy({
    ResourceArn: arnOf(LogicalId.ReadingsStream),
    ResourcePolicy: policyDocument({
      Sid: 'OnlyTheTopicRulePutsRecords',
      Effect: 'Deny',
      Principal: '*',
      Action: [...KINESIS_ACTIONS.put],
      Resource: arnOf(LogicalId.ReadingsStream),
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': writers } },
    }) as unknown as { [key: string]: unknown },
  });
  return {
    resources: { ReadingsStream: stream, ReadingsStreamPolicy: streamPolicy },
    outputs: {
      StreamName: exported('Kinesis stream of raw sensor readings', ref(LogicalId.ReadingsStream), 'StreamName'),
      StreamArn: exported('ARN of the readings stream', arnOf(LogicalId.ReadingsStream), 'StreamArn'),
    },
    alarms: [
      {
        id: LogicalId.StreamWriteThrottleAlarm,
        name: 'stream-write-throttles',
        description: 'Kinesis rejects writes from IoT Core: add shards (KinesisShardCount) or switch to ON_DEMAND',
        runbook:
          'More sensors or a higher rate than planned: run `npm run plan` with the new numbers and deploy the recommended ' +
          '`KinesisShardCount`, or switch `KinesisStreamMode` to `ON_DEMAND`. Throttled writes land in the IoT rule error log.',
        ...alarmMetric(streamMetric('WriteProvisionedThroughputExceeded')),
        threshold: 0,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      },
    ],
  };
}
