/**
 * The silent-sensor detector against moto: the stack deployed with CreateStack (its health and
 * readings tables), zone thing groups in moto's IoT registry, rollup items as the processor writes
 * them, and the detector module with real SDK clients. Its events are observed through a test bus
 * whose rule targets an SQS queue (moto cannot deliver the stack's rule to SNS).
 */
import { DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateThingGroupCommand, IoTClient } from '@aws-sdk/client-iot';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_TABLE, READINGS_TABLE, SENSOR_HEALTH_EVENT } from '../../contract';
import { zoneShard } from '../../handlers/processor/core/hash';
import { readDetectorConfig, runDetector, type DetectorConfig, type DetectorOutcome } from '../../handlers/detector/detector';
import { detectorEnv } from '../../scripts/lib/processor-env';
import { THING_LAYOUT } from '../../template/layers/provisioning';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';
import { deployToMoto } from '../helpers/stack';

const T0 = Date.parse('2026-12-01T08:00:00.000Z');
const MINUTE = 60_000;

describe('the silent-sensor detector against moto', () => {
  let moto: Moto;
  let aws: ReturnType<typeof motoClientConfig>;
  let config: DetectorConfig;
  let queueUrl: string;

  beforeAll(async () => {
    moto = await startMoto();
    aws = motoClientConfig(moto.endpoint);
    const { physicalIds } = await deployToMoto(moto.endpoint, 'tapstack-health', {
      EnvironmentSuffix: 'health',
      ThrowawayEnvironment: 'true',
      KinesisShardCount: '1',
      ProcessorReservedConcurrency: '2',
    });
    const iot = new IoTClient(aws);
    await iot.send(new CreateThingGroupCommand({ thingGroupName: THING_LAYOUT.zoneParentGroup }));
    for (const zone of ['north', 'south']) {
      await iot.send(new CreateThingGroupCommand({ thingGroupName: zone, parentGroupName: THING_LAYOUT.zoneParentGroup }));
    }
    const events = new EventBridgeClient(aws);
    const sqs = new SQSClient(aws);
    const bus = 'health-observed';
    await events.send(new CreateEventBusCommand({ Name: bus }));
    ({ QueueUrl: queueUrl } = (await sqs.send(new CreateQueueCommand({ QueueName: bus }))) as { QueueUrl: string });
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    await events.send(new PutRuleCommand({ Name: bus, EventBusName: bus, EventPattern: JSON.stringify({ source: [SENSOR_HEALTH_EVENT.source] }) }));
    await events.send(new PutTargetsCommand({ Rule: bus, EventBusName: bus, Targets: [{ Id: 'q', Arn: Attributes!.QueueArn! }] }));
    config = readDetectorConfig(detectorEnv({ ...physicalIds, AlertBus: bus }));
  }, 180_000);
  afterAll(async () => {
    await moto?.stop();
  });

  const dynamodb = () => new DynamoDBClient(aws);

  /** A rollup window holding a reading at `atMs`, as the processor writes it. */
  async function report(sensorId: string, zoneId: string, atMs: number) {
    const windowMs = config.rollupWindowSeconds * 1000;
    await dynamodb().send(
      new PutItemCommand({
        TableName: config.readingsTableName,
        Item: {
          [READINGS_TABLE.partitionKey]: { S: sensorId },
          [READINGS_TABLE.sortKey]: { S: new Date(Math.floor(atMs / windowMs) * windowMs).toISOString() },
          [READINGS_TABLE.zoneIndexPartitionKey]: { S: zoneShard(zoneId, sensorId, config.zoneIndexShards) },
          [READINGS_TABLE.lastReadingAttribute]: { S: new Date(atMs).toISOString() },
          [READINGS_TABLE.countAttribute]: { N: '1' },
        },
      }),
    );
  }

  function run(atMs: number, runId?: string, ddb: Pick<DynamoDBClient, 'send'> = dynamodb()): Promise<DetectorOutcome> {
    let now = atMs;
    return runDetector(
      {
        config,
        clients: { dynamodb: ddb, eventbridge: new EventBridgeClient(aws), iot: new IoTClient(aws) },
        now: () => now,
        sleep: async (ms) => void (now += ms),
        write: () => undefined,
        ...(runId ? { runId } : {}),
        io: { callTimeoutMs: 20_000 },
      },
      50_000,
    );
  }

  async function drain(): Promise<{ type: string; sensor: string; id: string }[]> {
    const sqs = new SQSClient(aws);
    const bodies: { type: string; sensor: string; id: string }[] = [];
    for (let empty = 0; empty < 2; ) {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }));
      if (!Messages?.length) {
        empty++;
        continue;
      }
      for (const m of Messages) {
        const e = JSON.parse(m.Body!);
        bodies.push({ type: e['detail-type'], sensor: e.detail.sensor_id, id: e.detail.event_id });
      }
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    }
    return bodies;
  }

  it('publishes Sensor Silent and Sensor Recovered once each, through overlapping runs and retries', async () => {
    for (let t = T0; t <= T0 + 12 * MINUTE; t += MINUTE) {
      await report('n-1', 'north', t);
      await report('s-1', 'south', t);
      if (t <= T0 + 2 * MINUTE) await report('n-2', 'north', t);
    }
    expect(await run(T0 + MINUTE)).toMatchObject({ inserted: 3, eventsPublished: 0 });
    // n-2's last window is 08:02: silent at 08:08. Two runs overlap: run-b reads the state, run-a
    // then decides, writes and publishes, and only then does run-b write what it decided. (moto's
    // conditional writes are not atomic under truly concurrent requests, about 1 in 100 here, so
    // the overlap is ordered rather than raced; DynamoDB's are.)
    let releaseB = () => {};
    const gate = new Promise<void>((r) => (releaseB = r));
    let bDecided = () => {};
    const decided = new Promise<void>((r) => (bDecided = r));
    const held: Pick<DynamoDBClient, 'send'> = {
      send: (async (command: { constructor: { name: string } }, options?: object) => {
        if (command.constructor.name === 'UpdateItemCommand') {
          bDecided();
          await gate;
        }
        return dynamodb().send(command as never, options);
      }) as never,
    };
    const runB = run(T0 + 8 * MINUTE, 'run-b', held);
    await decided;
    const runA = await run(T0 + 8 * MINUTE, 'run-a');
    releaseB();
    const overlapping = [runA, await runB];
    expect(overlapping.map((o) => o.silenced)).toEqual([1, 0]);
    await run(T0 + 8 * MINUTE, 'run-a');
    await run(T0 + 9 * MINUTE);
    await report('n-2', 'north', T0 + 12 * MINUTE + 10_000);
    expect(await run(T0 + 13 * MINUTE)).toMatchObject({ recovered: 1, eventsPublished: 1, zones: [
      { zoneId: 'north', expected: 2, reporting: 2 },
      { zoneId: 'south', expected: 1, reporting: 1 },
    ] });
    await run(T0 + 13 * MINUTE + 20_000);

    const events = await drain();
    expect(events.map((e) => [e.type, e.sensor])).toEqual([
      [SENSOR_HEALTH_EVENT.silent, 'n-2'],
      [SENSOR_HEALTH_EVENT.recovered, 'n-2'],
    ]);
    const items = (await dynamodb().send(new ScanCommand({ TableName: config.healthTableName }))).Items ?? [];
    expect(items.map((i) => [i[HEALTH_TABLE.partitionKey]!.S, i[HEALTH_TABLE.state]!.S, i[HEALTH_TABLE.pendingEvent]]).sort()).toEqual([
      ['n-1', 'REPORTING', undefined],
      ['n-2', 'REPORTING', undefined],
      ['s-1', 'REPORTING', undefined],
    ]);
  }, 120_000);
});
