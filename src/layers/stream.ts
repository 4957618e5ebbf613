/** The Kinesis stream between IoT Core and the processor (and Firehose). */
import { Kinesis } from 'cloudform-types';
import { retainUnlessThrowaway, tags, type TagConfig } from '../defaults';
import { exported, type Layer } from '../layer';
import { arnOf, ifCondition, ref } from '../intrinsics';
import { LogicalId, physicalName } from '../names';
import { Cond, Param, param } from '../parameters';

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
  return {
    resources: { ReadingsStream: stream },
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
        namespace: 'AWS/Kinesis',
        metric: 'WriteProvisionedThroughputExceeded',
        dimensions: { StreamName: ref(LogicalId.ReadingsStream) },
        threshold: 0,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      },
    ],
  };
}
