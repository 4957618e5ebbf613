/**
 * Phase 2, the raw-data lake: moto's CreateStack skips the Firehose delivery stream (so the
 * function's DELIVERY_STREAM_NAME, a Ref to it, comes back empty): it is created here with the
 * template's name, Direct PUT into the stack's bucket under raw/. moto writes each PutRecordBatch
 * as one S3 object (no Parquet conversion).
 */
import { CreateDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { buildTemplate } from '../../../template/index';
import { LogicalId } from '../../../template/names';
import type { PhaseContext } from './context';
import type { SimStack } from './stack';

/** Creates the delivery stream; returns its name, for the processor's environment. */
export async function createLake({ environment }: PhaseContext, { aws, physicalIds }: SimStack): Promise<string> {
  const streamNamePattern = (buildTemplate().Resources[LogicalId.DeliveryStream]!.Properties as { DeliveryStreamName: { 'Fn::Sub': string } })
    .DeliveryStreamName['Fn::Sub'];
  const deliveryStreamName = streamNamePattern.replace('${EnvironmentSuffix}', environment);
  await new FirehoseClient(aws).send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: deliveryStreamName,
      DeliveryStreamType: 'DirectPut',
      ExtendedS3DestinationConfiguration: {
        BucketARN: `arn:aws:s3:::${physicalIds[LogicalId.RawDataBucket]}`,
        RoleARN: 'arn:aws:iam::123456789012:role/firehose',
        Prefix: 'raw/',
      },
    }),
  );
  return deliveryStreamName;
}
