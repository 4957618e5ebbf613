/**
 * Uploads the console's build to the stack's console bucket and makes CloudFront serve it:
 * content-hashed assets first (cached for a year, skipped when already there), then config.json
 * and index.html (no-cache: a deploy shows at the next page load), then an invalidation of those
 * two (CloudFront may hold them for the cache policy's minimum TTL).
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Invalidation.html (the first 1,000 paths a month are free)
 */
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ConsoleBuild } from '../build-console';
import type { ConsolePageConfig } from './console-config';

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const NO_CACHE = 'no-cache';

export interface PublishResult {
  uploaded: string[];
  skipped: string[];
  invalidationId?: string;
}

const isMissing = (error: unknown) =>
  (error as { name?: string }).name === 'NotFound' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

export async function publishConsole(
  build: ConsoleBuild,
  page: ConsolePageConfig,
  target: { bucket: string; distributionId?: string; s3: S3Client; cloudfront?: CloudFrontClient },
  print: (line: string) => void = console.log,
): Promise<PublishResult> {
  const result: PublishResult = { uploaded: [], skipped: [] };
  const put = (key: string, body: Buffer | string, cacheControl: string) =>
    target.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body, ContentType: CONTENT_TYPES[extname(key)] ?? 'application/octet-stream', CacheControl: cacheControl }));
  for (const file of build.files.filter((f) => f.path.startsWith('assets/'))) {
    try {
      await target.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: file.path }));
      result.skipped.push(file.path);
      continue;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    await put(file.path, readFileSync(join(build.dir, file.path)), IMMUTABLE);
    result.uploaded.push(file.path);
  }
  await put('config.json', `${JSON.stringify(page, null, 2)}\n`, NO_CACHE);
  await put('index.html', readFileSync(join(build.dir, 'index.html')), NO_CACHE);
  result.uploaded.push('config.json', 'index.html');
  print(`Console: ${result.uploaded.length} files uploaded to s3://${target.bucket} (${result.skipped.length} assets already there)`);
  if (target.distributionId && target.cloudfront) {
    const out = await target.cloudfront.send(
      new CreateInvalidationCommand({
        DistributionId: target.distributionId,
        InvalidationBatch: { CallerReference: `tapstack-${Date.now()}`, Paths: { Quantity: 3, Items: ['/', '/index.html', '/config.json'] } },
      }),
    );
    result.invalidationId = out.Invalidation?.Id;
    print(`Console: CloudFront invalidation ${result.invalidationId} of /, /index.html and /config.json`);
  }
  return result;
}
