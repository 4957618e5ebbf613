/**
 * The raw-data lake in moto: a Direct PUT delivery stream to a bucket of its own (moto's CreateStack
 * skips AWS::KinesisFirehose::DeliveryStream, and moto writes each PutRecordBatch's records, joined,
 * as one S3 object at once: no buffering, no Parquet conversion), and the readings read back.
 */
import { CreateDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { motoClientConfig } from './moto';

type AwsConfig = ReturnType<typeof motoClientConfig>;

/** Creates the bucket and the delivery stream `name` (Direct PUT, S3 destination under `raw/`). */
export async function createRawDeliveryStream(aws: AwsConfig, name: string): Promise<{ deliveryStreamName: string; bucket: string }> {
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  const bucket = `${name}-lake`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await new FirehoseClient(aws).send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      DeliveryStreamType: 'DirectPut',
      ExtendedS3DestinationConfiguration: {
        BucketARN: `arn:aws:s3:::${bucket}`,
        RoleARN: 'arn:aws:iam::123456789012:role/firehose',
        Prefix: 'raw/',
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 60 },
      },
    }),
  );
  return { deliveryStreamName: name, bucket };
}

/** Every object under `raw/` in the bucket, as its bytes. */
export async function rawObjects(aws: AwsConfig, bucket: string): Promise<Buffer[]> {
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  const objects: Buffer[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'raw/', ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      objects.push(Buffer.from(await body.Body!.transformToByteArray()));
    }
    token = page.NextContinuationToken;
  } while (token);
  return objects;
}

/** The objects de-aggregated: one parsed JSON document per line. */
export const rawReadings = (objects: Buffer[]): Record<string, unknown>[] =>
  objects.flatMap((o) =>
    o
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
