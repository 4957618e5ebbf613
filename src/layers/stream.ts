/** The Kinesis stream between IoT Core and the processor (and Firehose). */
import { Kinesis } from 'cloudform-types';
import { exported, retainUnlessThrowaway, tags, type Layer } from '../common';
import type { StackConfig } from '../config';
import { arnOf, ifCondition, ref } from '../intrinsics';
import { LogicalId, physicalName } from '../names';
import { Cond, Param, param } from '../parameters';

export function buildStream(config: StackConfig): Layer {
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
  };
}
