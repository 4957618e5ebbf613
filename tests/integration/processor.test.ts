/**
 * The processor against moto: tables and quarantine queue from a CreateStack of our template; a
 * bus of the test's own with a rule → SQS target to observe alerts (moto answers PutEvents with
 * HTTP 500 on a bus whose rule targets SNS, as the stack's does).
 */
import { QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processorEnv } from '../../scripts/lib/processor-env';
import { ALERT_EVENT, ALERT_STATE_TABLE, ENV, windowMean } from '../../contract';
import { readConfig, type ProcessorConfig } from '../../handlers/processor/config';
import { processBatch } from '../../handlers/processor/handler';
import { buildClients, processorSinks, type Clients } from '../../handlers/processor/outputs';
import { elevatedBucket } from '../../handlers/processor/core/hash';
import { context, kinesisEvent, reading } from '../helpers/kinesis';
import { createRawDeliveryStream, rawObjects, rawReadings } from '../helpers/firehose';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';
import { deployToMoto } from '../helpers/stack';

describe('processor against moto', () => {
  let moto: Moto;
  let clients: Clients;
  let config: ProcessorConfig;
  let alertQueueUrl: string;
  let lakeBucket: string;
  const lines: string[] = [];
  /** Readings' times: set once the stack is up, so that they read as live (received moments ago), not redriven. */
  let T0 = 0;

  beforeAll(async () => {
    moto = await startMoto();
    const aws = motoClientConfig(moto.endpoint);
    const { physicalIds } = await deployToMoto(moto.endpoint, 'tapstack-proc', {
      EnvironmentSuffix: 'proc',
      ThrowawayEnvironment: 'true',
      KinesisShardCount: '1',
      ProcessorReservedConcurrency: '2',
    });
    clients = buildClients(() => aws);
    // moto's CreateStack skips the delivery stream: the test makes its own (Direct PUT to a bucket).
    const lake = await createRawDeliveryStream(aws, 'tapstack-proc-raw');
    lakeBucket = lake.bucket;
    await clients.eventbridge.send(new CreateEventBusCommand({ Name: 'observed-alerts' }));
    const queue = await clients.sqs.send(new CreateQueueCommand({ QueueName: 'observed-alerts' }));
    alertQueueUrl = queue.QueueUrl!;
    const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: alertQueueUrl, AttributeNames: ['QueueArn'] }));
    await clients.eventbridge.send(
      new PutRuleCommand({
        Name: 'observe',
        EventBusName: 'observed-alerts',
        EventPattern: JSON.stringify({ source: [ALERT_EVENT.source], 'detail-type': [ALERT_EVENT.detailType] }),
      }),
    );
    await clients.eventbridge.send(
      new PutTargetsCommand({ Rule: 'observe', EventBusName: 'observed-alerts', Targets: [{ Id: 'q', Arn: Attributes!.QueueArn! }] }),
    );
    config = readConfig(
      processorEnv(
        { ...physicalIds, AlertBus: 'observed-alerts', DeliveryStream: lake.deliveryStreamName },
        { metricsNamespace: 'TapStack/proc', overrides: { [ENV.alertCooldownSeconds]: '0' } },
      ),
    );
    // The start of this minute: a test's readings share one 60 s rollup window, and still read as live.
    T0 = Math.floor(Date.now() / 60_000) * 60_000;

  });
  afterAll(async () => {
    await moto?.stop();
  });

  const run = (event: ReturnType<typeof kinesisEvent>) =>
    processBatch(event, context(), { config, sinks: processorSinks(config, clients), write: (line) => lines.push(line) });

  async function drain(queueUrl: string): Promise<Message[]> {
    const all: Message[] = [];
    for (;;) {
      const { Messages } = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }));
      if (!Messages?.length) return all;
      all.push(...Messages);
    }
  }
  const alertsPublished = async () =>
    (await drain(alertQueueUrl)).map((m) => JSON.parse(m.Body!).detail as { level: string; previous_level: string; sensor_id: string; alert_id: string });
  const scanReadings = async () => (await clients.dynamodb.send(new ScanCommand({ TableName: config.readingsTableName }))).Items ?? [];

  it('stores one rollup per sensor and window, quarantines bad readings with their reason, and alerts on a crossing', async () => {
    const event = kinesisEvent([
      reading(1, T0, { congestion_index: 40 }),
      reading(1, T0 + 1000, { congestion_index: 50, vehicle_count: 20 }),
      reading(2, T0, { congestion_index: 85 }),
      reading(3, T0),
      { raw: 'not json at all' },
      reading(4, T0, { avg_speed: 420 }),
      reading(5, T0, { vehicle_count: -1 }),
    ]);
    const outcome = await run(event);
    expect(outcome.response.batchItemFailures).toEqual([]);
    expect(outcome).toMatchObject({ stored: 4, quarantined: 3, retried: 0, itemsWritten: 3, alertsPublished: 1, rawRecordsDelivered: 1 });
    // The lake: one JSON document per valid reading, in one Firehose record.
    const lake = rawReadings(await rawObjects(motoClientConfig(moto.endpoint), lakeBucket));
    expect(lake.map((r) => `${r.sensor_id} ${r.timestamp}`).sort()).toEqual(
      [[1, T0], [1, T0 + 1000], [2, T0], [3, T0]].map(([s, t]) => `sensor-0000${s} ${new Date(t!).toISOString()}`).sort(),
    );

    const items = await scanReadings();
    expect(items).toHaveLength(3);
    const s1 = items.find((i) => i.sensor_id!.S === 'sensor-00001')!;
    expect(s1).toMatchObject({
      timestamp: { S: new Date(T0).toISOString() },
      last_reading_at: { S: new Date(T0 + 1000).toISOString() },
      reading_count: { N: '2' },
      vehicle_count_sum: { N: '32' },
      congestion_index_sum: { N: '90' },
      congestion_index_max: { N: '50' },
      zone_id: { S: 'zone-1' },
    });
    expect(windowMean(s1, 'congestion_index')).toBe(45);
    expect(s1.zone_shard!.S).toMatch(/^zone-1#\d$/);

    const quarantined = (await drain(config.quarantineQueueUrl)).map((m) => JSON.parse(m.Body!));
    const reasons = quarantined.map((q) => q.reason as string).sort();
    expect(reasons).toHaveLength(3);
    expect(reasons[0]).toBe('avg_speed: expected a number from 0 to 300, got 420');
    expect(reasons[1]).toMatch(/^not JSON: /);
    expect(reasons[2]).toBe('vehicle_count: expected an integer from 0 to 10000, got -1');
    const notJson = quarantined.find((q) => q.reason.startsWith('not JSON'))!;
    // The quarantine keeps the record as it came (the rule's record, the sensor's bytes inside it), so
    // that a redrive puts it back as it was.
    const kept = JSON.parse(Buffer.from(notJson.payload_base64, 'base64').toString()) as { payload: string };
    expect(Buffer.from(kept.payload, 'base64').toString()).toBe('not json at all');
    expect(notJson.sequence_number).toBe(event.Records[4]!.kinesis.sequenceNumber);

    const alerts = await alertsPublished();
    expect(alerts).toEqual([expect.objectContaining({ sensor_id: 'sensor-00002', level: 'WARNING', previous_level: 'NORMAL' })]);
    const elevated = await clients.dynamodb.send(
      new QueryCommand({
        TableName: config.alertStateTableName,
        IndexName: ALERT_STATE_TABLE.elevatedIndexName,
        KeyConditionExpression: '#b = :b',
        ExpressionAttributeNames: { '#b': ALERT_STATE_TABLE.elevatedBucketAttribute },
        ExpressionAttributeValues: { ':b': { S: elevatedBucket('sensor-00002') } },
      }),
    );
    expect(elevated.Items?.map((i) => i.sensor_id!.S)).toContain('sensor-00002');
  });

  it('changes nothing and publishes nothing when the same batch is replayed', async () => {
    const event = kinesisEvent([reading(10, T0 + 5000, { congestion_index: 95 }), reading(11, T0 + 5000)]);
    await run(event);
    const before = await scanReadings();
    expect(await alertsPublished()).toHaveLength(1);
    const replay = await run(event);
    expect(replay.response.batchItemFailures).toEqual([]);
    expect(replay.alertsPublished).toBe(0);
    expect(await scanReadings()).toEqual(before);
    expect(await alertsPublished()).toEqual([]);
  });

  it('publishes exactly the transitions of a congestion ramp NORMAL → WARNING → CRITICAL → NORMAL', async () => {
    const ramp = [60, 70, 82, 84, 88, 93, 96, 91, 87, 84, 72, 60];
    const transitions: string[] = [];
    for (const [i, ci] of ramp.entries()) {
      await run(kinesisEvent([reading(20, T0 + 10_000 + i * 1000, { congestion_index: ci })]));
      for (const a of await alertsPublished()) transitions.push(`${a.previous_level}->${a.level}`);
    }
    // Up at once (82, 93); down only 5 points below the threshold: 91 and 87 stay CRITICAL (> 85),
    // 84 drops to WARNING, 72 (<= 75) to NORMAL.
    expect(transitions).toEqual(['NORMAL->WARNING', 'WARNING->CRITICAL', 'CRITICAL->WARNING', 'WARNING->NORMAL']);
  });

  it('does not alert on a redriven reading older than the state, nor count it against the latency SLOs', async () => {
    // After the ramp above, sensor 20 is NORMAL; its CRITICAL reading of ten minutes ago is redriven.
    const tenMinutesAgo = Date.now() - 600_000;
    const before = lines.length;
    const outcome = await run(kinesisEvent([reading(20, tenMinutesAgo, { congestion_index: 97 })]));
    expect(outcome).toMatchObject({ alertsPublished: 0, alertsStale: 1, replayed: 1, stored: 1 });
    expect(await alertsPublished()).toEqual([]);
    const main = lines.slice(before).map((l) => JSON.parse(l)).find((l) => l.RecordsIn !== undefined);
    expect(main).toMatchObject({ RecordsReplayed: 1, AlertsStale: 1 });
    expect(main).not.toHaveProperty('EndToEndLatencyMs');
  });

  it('does not alert on a redriven reading older than the newest stored one when no transition recorded it', async () => {
    // Sensor 30 reports NORMAL (no alert state is written for it), then a reading from before those is redriven.
    const live = T0 + 30_000;
    await run(kinesisEvent([reading(30, live, { congestion_index: 40 }), reading(30, live + 1000, { congestion_index: 45 })]));
    const late = reading(30, live - 5000, { congestion_index: 96, received_at: Date.now() - 120_000 });
    const outcome = await run(kinesisEvent([late]));
    expect(outcome).toMatchObject({ alertsPublished: 0, alertsStale: 1 });
    expect(await alertsPublished()).toEqual([]);
    // The same reading with nothing newer stored does alert: it is redriven, not stale.
    const first = await run(kinesisEvent([reading(31, live - 5000, { congestion_index: 96, received_at: Date.now() - 120_000 })]));
    expect(first).toMatchObject({ alertsPublished: 1, alertsStale: 0 });
    expect(await alertsPublished()).toEqual([expect.objectContaining({ sensor_id: 'sensor-00031', level: 'CRITICAL' })]);
  });

  it('emits its metrics as Embedded Metric Format lines', () => {
    const emf = lines.map((l) => JSON.parse(l)).filter((l) => l._aws);
    const main = emf.find((l) => l.RecordsIn !== undefined)!;
    expect(main._aws.CloudWatchMetrics[0].Namespace).toBe('TapStack/proc');
    expect(main.Service).toBe('processor');
    expect(Array.isArray(main.EndToEndLatencyMs)).toBe(true);
    expect(emf.some((l) => l.ZoneId === 'zone-1' && typeof l.ZoneCongestionIndex === 'number')).toBe(true);
  });
});
