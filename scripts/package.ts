/**
 * npm run package -- --bucket B [--prefix P] [--region R]
 * Builds the processor bundle, uploads it to S3 under its content-hash key (skipped when HeadObject
 * says it is there) and prints the LambdaCodeS3Bucket / LambdaCodeS3Key parameter values.
 */
import { readFileSync } from 'node:fs';
import { HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { assertBucketName, BucketError, bucketErrorLine, clientConfig, resolveCredentials, resolveTarget, type AwsTarget } from './aws';
import { bundleProcessor } from './bundle';
import { buildConsole } from './build-console';
import { parseFlags, runMain } from './cli';

export interface PackageResult {
  LambdaCodeS3Bucket: string;
  LambdaCodeS3Key: string;
  uploaded: boolean;
}

export const s3Client = (target: AwsTarget, credentials?: AwsCredentialIdentity) =>
  new S3Client({ ...clientConfig(target, credentials), ...(target.endpoint ? { forcePathStyle: true } : {}) });

export async function packageProcessor(
  options: { bucket: string; prefix?: string; target: AwsTarget; credentials?: AwsCredentialIdentity },
  print: (line: string) => void = console.log,
): Promise<PackageResult> {
  assertBucketName('--bucket', options.bucket);
  const s3 = s3Client(options.target, options.credentials);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: options.bucket }));
  } catch (error) {
    throw new BucketError(bucketErrorLine(options.bucket, options.target.region, error, options.target.endpoint), { cause: error });
  }
  const bundle = await bundleProcessor();
  const key = options.prefix ? `${options.prefix.replace(/\/+$/, '')}/${bundle.key}` : bundle.key;
  let uploaded = false;
  try {
    await s3.send(new HeadObjectCommand({ Bucket: options.bucket, Key: key }));
    print(`s3://${options.bucket}/${key} is already there (same content hash): upload skipped`);
  } catch (error) {
    if ((error as { name?: string }).name !== 'NotFound' && (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) {
      throw error;
    }
    const started = performance.now();
    print(`Uploading dist/${bundle.key} (${(bundle.bytes / 1024).toFixed(1)} KiB) to s3://${options.bucket}/${key} ...`);
    await s3.send(
      new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: readFileSync(bundle.zipPath), ContentType: 'application/zip' }),
    );
    print(`Uploaded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    uploaded = true;
  }
  // The console's build: content-hashed, so it is built here (and checked) and uploaded by npm run
  // deploy into the stack's own bucket, which exists once the stack does.
  const consoleBuild = await buildConsole();
  print(`Console: dist/console, ${consoleBuild.files.length} files (${(consoleBuild.files.reduce((n, f) => n + f.bytes, 0) / 1024).toFixed(0)} KiB); npm run deploy uploads it to the stack's console bucket`);
  print(`LambdaCodeS3Bucket=${options.bucket}`);
  print(`LambdaCodeS3Key=${key}`);
  return { LambdaCodeS3Bucket: options.bucket, LambdaCodeS3Key: key, uploaded };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain('package', async () => {
    const flags = parseFlags(
      'package',
      process.argv.slice(2),
      {
        bucket: { type: 'string', help: 'S3 bucket for the Lambda code', required: true },
        prefix: { type: 'string', help: 'key prefix' },
        region: { type: 'string', help: 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile)' },
      },
      'Builds dist/processor-<hash>.zip, uploads it under its content hash and prints LambdaCodeS3Bucket / LambdaCodeS3Key.',
    );
    assertBucketName('--bucket', flags.bucket!);
    const target = await resolveTarget(flags.region);
    const { credentials } = await resolveCredentials();
    await packageProcessor({ bucket: flags.bucket!, prefix: flags.prefix, target, credentials });
  });
}
