import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, type ConsoleBuild } from '../../../../scripts/build-console';
import { deployedPageConfig } from '../../../../scripts/lib/console-config';
import { IMMUTABLE, NO_CACHE, publishConsole } from '../../../../scripts/lib/console-publish';

const OUTPUTS = {
  ConsoleAuthDomain: 'https://tapstack-prod-123456789012.auth.eu-west-1.amazoncognito.com',
  ConsoleUserPoolId: 'eu-west-1_AbCdEf123',
  ConsoleUserPoolClientId: 'client123',
  ConsoleMapTileUrl: '',
  ConsoleMapAttribution: '',
};

describe('the console upload', () => {
  let build: ConsoleBuild;
  beforeAll(async () => {
    build = await buildConsole(mkdtempSync(join(tmpdir(), 'tapstack-console-')));
  });

  it('uploads new assets for a year, then config.json and index.html uncached, then invalidates those', async () => {
    const s3 = mockClient(S3Client);
    const cloudfront = mockClient(CloudFrontClient);
    const existing = build.files.find((f) => f.path.endsWith('.png'))!.path;
    s3.on(HeadObjectCommand).callsFake((input) => {
      if (input.Key === existing) return {};
      throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    });
    s3.on(PutObjectCommand).resolves({});
    cloudfront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: 'I1', Status: 'InProgress', CreateTime: new Date(), InvalidationBatch: undefined } as never });
    const page = deployedPageConfig('prod', 'eu-west-1', OUTPUTS);
    const result = await publishConsole(build, page, { bucket: 'console', distributionId: 'E123', s3: new S3Client({}), cloudfront: new CloudFrontClient({}) }, () => undefined);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.slice(-2).map((p) => p.Key)).toEqual(['config.json', 'index.html']);
    expect(puts.slice(-2).every((p) => p.CacheControl === NO_CACHE)).toBe(true);
    expect(puts.slice(0, -2).every((p) => p.Key!.startsWith('assets/') && p.CacheControl === IMMUTABLE)).toBe(true);
    expect(result.skipped).toEqual([existing]);
    expect(JSON.parse(String(puts.at(-2)!.Body))).toMatchObject({
      auth: { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123', clientId: 'client123', tokenEndpoint: `${OUTPUTS.ConsoleAuthDomain}/oauth2/token` },
      api: '/api',
    });
    expect(cloudfront.commandCalls(CreateInvalidationCommand)[0]!.args[0].input.InvalidationBatch!.Paths!.Items).toEqual(['/', '/index.html', '/config.json']);
    expect(result.invalidationId).toBe('I1');
  });
});
