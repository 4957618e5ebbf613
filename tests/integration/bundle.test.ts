/**
 * The built bundle, as Lambda would run it: dist/processor-<hash>.zip unpacked, imported by a fresh
 * Node process whose clients reach moto through AWS_ENDPOINT_URL, invoked with a Kinesis event.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateThingGroupCommand, IoTClient } from '@aws-sdk/client-iot';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleProcessor, type Bundle } from '../../scripts/bundle';
import { detectorEnv, processorEnv } from '../../scripts/lib/processor-env';
import { THING_LAYOUT } from '../../template/layers/provisioning';
import { createRawDeliveryStream, rawObjects, rawReadings } from '../helpers/firehose';
import { kinesisEvent, reading } from '../helpers/kinesis';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';
import { deployToMoto } from '../helpers/stack';

describe('the processor bundle', () => {
  /** Runs a script against the unzipped bundle in a fresh Node process with only the given environment (and moto's endpoint); answers its `RESULT` line. */
  const runBundle = (script: string, env: Record<string, string>) => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        ...env,
      },
    });
    expect(run.stderr).toBe('');
    return { run, result: JSON.parse(run.stdout.split('\n').find((l) => l.startsWith('RESULT '))!.slice(7)) };
  };
  let moto: Moto;
  let bundle: Bundle;
  let outputs: Record<string, string>;
  let physicalIds: Record<string, string>;
  let dir: string;
  let lakeBucket: string;

  beforeAll(async () => {
    bundle = await bundleProcessor();
    moto = await startMoto();
    ({ outputs, physicalIds } = await deployToMoto(moto.endpoint, 'tapstack-bundle', {
      EnvironmentSuffix: 'bundle',
      ThrowawayEnvironment: 'true',
      KinesisShardCount: '1',
      ProcessorReservedConcurrency: '2',
    }, { bucket: 'tapstack-code', key: bundle.key, body: readFileSync(bundle.zipPath) }));
    // moto's CreateStack skips the delivery stream: the raw-data lake is made here (Direct PUT to a bucket).
    const lake = await createRawDeliveryStream(motoClientConfig(moto.endpoint), 'tapstack-bundle-raw');
    physicalIds = { ...physicalIds, DeliveryStream: lake.deliveryStreamName };
    lakeBucket = lake.bucket;
    dir = mkdtempSync(join(tmpdir(), 'tapstack-bundle-'));
    for (const [name, content] of Object.entries(unzipSync(new Uint8Array(readFileSync(bundle.zipPath))))) {
      writeFileSync(join(dir, name), content);
    }
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('is named by its content hash and holds index.mjs with its source map', () => {
    expect(bundle.key).toMatch(/^processor-[0-9a-f]{12}\.zip$/);
    expect(bundle.key.slice(10, 22)).toBe(bundle.sha256.slice(0, 12));
    expect(Object.keys(unzipSync(new Uint8Array(readFileSync(bundle.zipPath)))).sort()).toEqual(['index.mjs', 'index.mjs.map']);
  });

  it('runs against moto through AWS_ENDPOINT_URL and stores the readings', async () => {
    const now = Date.now();
    const event = kinesisEvent([reading(1, now - 2000), reading(2, now - 2000), { raw: 'garbage' }]);
    writeFileSync(join(dir, 'event.json'), JSON.stringify(event));
    const script =
      `const { handler } = await import(${JSON.stringify(join(dir, 'index.mjs'))});` +
      `const event = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(join(dir, 'event.json'))}, 'utf8'));` +
      `const result = await handler(event, { getRemainingTimeInMillis: () => 30000 });` +
      `console.log('RESULT ' + JSON.stringify(result));`;
    const { run, result } = runBundle(
      `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${script}`,
      processorEnv(physicalIds, { metricsNamespace: 'TapStack/bundle' }),
    );
    expect(result).toEqual({ batchItemFailures: [] });
    const items = await new DynamoDBClient(motoClientConfig(moto.endpoint)).send(new ScanCommand({ TableName: outputs.ReadingsTableName }));
    expect(items.Items?.map((i) => i.sensor_id!.S).sort()).toEqual(['sensor-00001', 'sensor-00002']);
    expect(run.stdout).toContain('"RecordsQuarantined":1');
    const sqs = new SQSClient(motoClientConfig(moto.endpoint));
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: outputs.QuarantineQueueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages?.map((m) => JSON.parse(m.Body!).reason)).toEqual([expect.stringMatching(/^not JSON: /)]);
    const lake = rawReadings(await rawObjects(motoClientConfig(moto.endpoint), lakeBucket));
    expect(lake.map((r) => r.sensor_id)).toEqual(['sensor-00001', 'sensor-00002']);
  });

  it('runs the silent-sensor detector (index.detector) with its own environment only', async () => {
    const iot = new IoTClient(motoClientConfig(moto.endpoint));
    await iot.send(new CreateThingGroupCommand({ thingGroupName: THING_LAYOUT.zoneParentGroup }));
    for (const zone of ['zone-1', 'zone-2']) await iot.send(new CreateThingGroupCommand({ thingGroupName: zone, parentGroupName: THING_LAYOUT.zoneParentGroup }));
    const script =
      `const { detector } = await import(${JSON.stringify(join(dir, 'index.mjs'))});` +
      `const result = await detector({}, { getRemainingTimeInMillis: () => 30000 });` +
      `console.log('RESULT ' + JSON.stringify(result));`;
    const { run, result } = runBundle(script, detectorEnv(physicalIds, { metricsNamespace: 'TapStack/bundle' }));
    // The readings the processor stored in the test above: both sensors are expected from now on.
    expect(result).toMatchObject({ inserted: 2, silenced: 0, eventsPublished: 0 });
    expect(run.stdout).toContain('"SensorsReporting":1');
  });
});
