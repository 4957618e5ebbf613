import {
  BatchGetItemCommand,
  DynamoDBClient,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { processBatch } from '../../../../handlers/processor/handler';
import { processorSinks } from '../../../../handlers/processor/outputs';
import { unpackOffsets } from '../../../../handlers/processor/adapters/window-store';
import { kinesisEvent, reading } from '../../../helpers/kinesis';
import { TEST_CONFIG } from '../../../helpers/processor-config';
import { clientsStubbing } from '../../../doubles/mocked-clients';


const ddb = mockClient(DynamoDBClient);
const events = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
const firehose = mockClient(FirehoseClient);
/** The processor's clients: those of the four classes above answer their stubs; any other answers an empty success. */
const stubbedClients = () => clientsStubbing([DynamoDBClient, EventBridgeClient, SQSClient, FirehoseClient]);
const throttled = () => Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
/** A transaction cancelled because the write at `failed` failed its condition on `item`; the others were not written. */
const cancelled = (count: number, failed: number, item?: Record<string, unknown>) =>
  Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: Array.from({ length: count }, (_, i) => (i === failed ? { Code: 'ConditionalCheckFailed', ...(item ? { Item: item } : {}) } : { Code: 'None' })),
  });
/** Every write sent in a TransactWriteItems, in order. */
const transactWrites = (): TransactWriteItem[] => ddb.commandCalls(TransactWriteItemsCommand).flatMap((c) => c.args[0].input.TransactItems!);
/** The alert-state writes among them (conditional updates of the alert-state table). */
const stateWrites = () => transactWrites().flatMap((w) => (w.Update?.TableName === 'alert-state' ? [w.Update] : []));
const isAlertState = (items: TransactWriteItem[]) => items.some((w) => w.Update?.TableName === 'alert-state');

function run(event: ReturnType<typeof kinesisEvent>, remainingMs = 60_000) {
  let now = Date.now();
  const lines: string[] = [];
  const promise = processBatch(event, { getRemainingTimeInMillis: () => remainingMs }, {
    config: TEST_CONFIG,
    sinks: processorSinks(TEST_CONFIG, stubbedClients()),
    now: () => now,
    sleep: async (ms) => void (now += ms),
    random: () => 0.5,
    write: (line) => lines.push(line),
  });
  return { promise, lines };
}

beforeEach(() => {
  ddb.reset();
  events.reset();
  sqs.reset();
  firehose.reset();
  ddb.on(TransactWriteItemsCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(ScanCommand).resolves({ Items: [] });
  ddb.on(BatchGetItemCommand).resolves({ Responses: {} });
  events.on(PutEventsCommand).callsFake((input) => ({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'e' })) }));
  sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
  firehose.on(PutRecordBatchCommand).callsFake((input) => ({ FailedPutCount: 0, RequestResponses: input.Records.map(() => ({ RecordId: 'r' })) }));
});

const T = Date.now() - 10_000;

describe('processBatch', () => {
  it('accounts for every record: stored, quarantined, or retried', async () => {
    const event = kinesisEvent([reading(1, T), reading(2, T), { raw: 'garbage' }]);
    const { promise } = run(event);
    const outcome = await promise;
    expect(outcome).toMatchObject({ stored: 2, quarantined: 1, retried: 0, response: { batchItemFailures: [] } });
  });

  it('reports the sequence numbers of the records whose rollups could not be written in time', async () => {
    ddb.on(TransactWriteItemsCommand).rejects(throttled());
    const event = kinesisEvent([reading(1, T), reading(1, T + 1000), { raw: 'garbage' }, reading(2, T)]);
    const { promise } = run(event, 3_000);
    const outcome = await promise;
    const seq = (i: number) => event.Records[i]!.kinesis.sequenceNumber;
    expect(outcome.response.batchItemFailures).toEqual([0, 1, 3].map((i) => ({ itemIdentifier: seq(i) })));
    expect(outcome).toMatchObject({ stored: 0, quarantined: 1, retried: 3 });
  });

  it('reports only the rollup that failed when others were written: a cancelled transaction answers per write', async () => {
    // Sensor 2's window is throttled in every transaction; the writes cancelled only for it go out again at once.
    ddb.on(TransactWriteItemsCommand).callsFake((input: { TransactItems: TransactWriteItem[] }) => {
      const items = input.TransactItems;
      const at = items.findIndex((w) => w.Put?.Item?.sensor_id?.S === 'sensor-00002');
      if (at < 0) return {};
      throw Object.assign(cancelled(items.length, -1), {
        CancellationReasons: items.map((_, i) => ({ Code: i === at ? 'ThrottlingError' : 'None' })),
      });
    });
    const event = kinesisEvent([reading(1, T), reading(2, T), reading(3, T)]);
    const outcome = await run(event, 3_000).promise;
    expect(outcome.response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }]);
    expect(outcome.itemsWritten).toBe(2);
  });

  it('writes the windows of a batch in transactions of at most 100 conditional writes', async () => {
    const event = kinesisEvent(Array.from({ length: 250 }, (_, i) => reading(1000 + i, T)));
    const outcome = await run(event).promise;
    const sizes = ddb.commandCalls(TransactWriteItemsCommand).map((c) => c.args[0].input.TransactItems!.length);
    expect(sizes).toEqual([100, 100, 50]);
    expect(outcome.itemsWritten).toBe(250);
    for (const w of transactWrites()) expect(w.Put).toMatchObject({ ConditionExpression: 'attribute_not_exists(#pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
  });

  it('writes a later batch of a known window as its whole item, conditioned on the count it wrote, with no read', async () => {
    const sinks = processorSinks(TEST_CONFIG, stubbedClients());
    const W = Math.floor(T / 60_000) * 60_000;
    const deps = { config: TEST_CONFIG, sinks, write: () => undefined };
    await processBatch(kinesisEvent([reading(1, W + 1000), reading(1, W + 2000)]), { getRemainingTimeInMillis: () => 60_000 }, deps);
    ddb.resetHistory();
    await processBatch(kinesisEvent([reading(1, W + 3000)]), { getRemainingTimeInMillis: () => 60_000 }, deps);
    const [write] = transactWrites();
    expect(write!.Put).toMatchObject({
      ConditionExpression: '#count = :known',
      ExpressionAttributeNames: { '#count': 'reading_count' },
      ExpressionAttributeValues: { ':known': { N: '2' } },
      Item: { reading_count: { N: '3' } },
    });
    expect(unpackOffsets(write!.Put!.Item!.reading_offsets_ms!.B!)).toEqual([1000, 2000, 3000]);
    expect(ddb.commandCalls(BatchGetItemCommand).flatMap((c) => c.args[0].input.RequestItems![TEST_CONFIG.readingsTableName]?.Keys ?? [])).toEqual([]);
  });

  it('reports a quarantined record for retry when the quarantine queue cannot take it', async () => {
    sqs.on(SendMessageBatchCommand).rejects(throttled());
    const event = kinesisEvent([reading(1, T), { raw: 'garbage' }]);
    const outcome = await run(event, 3_000).promise;
    expect(outcome.response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }]);
    expect(outcome).toMatchObject({ stored: 1, quarantined: 0, retried: 1 });
  });

  it('reads alert state only for sensors that may escalate or are elevated', async () => {
    const event = kinesisEvent([reading(1, T, { congestion_index: 85 }), ...Array.from({ length: 50 }, (_, i) => reading(100 + i, T))]);
    await run(event).promise;
    const keys = ddb.commandCalls(BatchGetItemCommand).flatMap((c) => c.args[0].input.RequestItems!['alert-state']?.Keys ?? []);
    expect(keys).toEqual([{ sensor_id: { S: 'sensor-00001' } }]);
  });

  it('queries the elevated index by bucket for a shard’s few buckets, and scans it when a batch spans many', async () => {
    await run(kinesisEvent([reading(1, T), reading(2, T)])).promise;
    expect(ddb.commandCalls(QueryCommand).length).toBeGreaterThan(0);
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(0);
    ddb.resetHistory();
    await run(kinesisEvent(Array.from({ length: 60 }, (_, i) => reading(200 + i, T)))).promise;
    expect(ddb.commandCalls(QueryCommand).filter((c) => c.args[0].input.IndexName)).toHaveLength(0);
    expect(ddb.commandCalls(ScanCommand).map((c) => c.args[0].input)).toEqual(
      [0, 1, 2, 3].map((segment) => expect.objectContaining({ IndexName: 'elevated-index', Segment: segment, TotalSegments: 4 })),
    );
  });

  it('publishes a transition once, conditionally on the stored version, then clears the outbox', async () => {
    const event = kinesisEvent([reading(1, T, { congestion_index: 85 })]);
    const outcome = await run(event).promise;
    expect(outcome.alertsPublished).toBe(1);
    const [commit, clear] = stateWrites();
    expect(commit!.ConditionExpression).toBe('attribute_not_exists(#pk)');
    expect(commit!.ExpressionAttributeValues![':level']).toEqual({ S: 'WARNING' });
    // The outbox is cleared by a write conditioned on the version the commit wrote.
    expect(clear!.ConditionExpression).toBe('#version = :current');
    expect(clear!.ExpressionAttributeValues![':current']).toEqual({ N: '1' });
    expect(clear!.ExpressionAttributeValues![':pending']).toEqual({ S: '[]' });
  });

  it('publishes nothing when another invocation already took the reading (its write wins the condition)', async () => {
    // What the other invocation wrote: the transition, with this very reading as its last (the item the condition failed on).
    const written = { sensor_id: { S: 'sensor-00001' }, level: { S: 'WARNING' }, version: { N: '2' }, last_reading_ms: { N: String(T) }, pending: { S: '[]' } };
    ddb.on(TransactWriteItemsCommand).callsFake((input: { TransactItems: TransactWriteItem[] }) => {
      if (isAlertState(input.TransactItems)) throw cancelled(input.TransactItems.length, 0, written);
      return {};
    });
    const outcome = await run(kinesisEvent([reading(1, T, { congestion_index: 85 })])).promise;
    expect(outcome).toMatchObject({ alertsPublished: 0, alertsStale: 1 });
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(stateWrites()).toHaveLength(1);
    expect(outcome.response.batchItemFailures).toEqual([]);
  });

  it('decides again on what another invocation wrote, keeping its work and adding its own', async () => {
    // The other invocation took an earlier reading to WARNING; this batch's later reading goes on to CRITICAL.
    const written = { sensor_id: { S: 'sensor-00001' }, level: { S: 'WARNING' }, version: { N: '2' }, last_reading_ms: { N: String(T - 1000) }, pending: { S: '[]' } };
    let conflicts = 0;
    ddb.on(TransactWriteItemsCommand).callsFake((input: { TransactItems: TransactWriteItem[] }) => {
      if (isAlertState(input.TransactItems) && conflicts++ === 0) throw cancelled(input.TransactItems.length, 0, written);
      return {};
    });
    const outcome = await run(kinesisEvent([reading(1, T, { congestion_index: 95 })])).promise;
    expect(outcome.alertsPublished).toBe(1);
    const detail = JSON.parse(events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.Detail!);
    expect(detail).toMatchObject({ previous_level: 'WARNING', level: 'CRITICAL' });
    const [, commit] = stateWrites();
    expect(commit!.ExpressionAttributeValues![':current']).toEqual({ N: '2' });
  });

  it('keeps an alert pending and retries its records when EventBridge will not take it', async () => {
    events.on(PutEventsCommand).rejects(throttled());
    const event = kinesisEvent([reading(1, T, { congestion_index: 85 }), reading(2, T)]);
    const outcome = await run(event, 3_000).promise;
    expect(outcome.response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.kinesis.sequenceNumber }]);
    // Committed, then released: the alert stays in the outbox, free for the retry to publish at once.
    const [, release] = stateWrites();
    const pending = JSON.parse(release!.ExpressionAttributeValues![':pending']!.S!);
    expect(pending).toEqual([expect.objectContaining({ until: 0, alert: expect.objectContaining({ level: 'WARNING' }) })]);
  });

  it('republishes alerts left pending by an earlier invocation whose claim lapsed', async () => {
    const alert = { alert_id: 'x1', level: 'WARNING', previous_level: 'NORMAL', sensor_id: 'sensor-00001', zone_id: 'zone-1', congestion_index: 85, threshold: 80, reading_time: new Date(T).toISOString(), received_at: T, detected_at: new Date(T).toISOString() };
    const pending = [{ alert, owner: 'an invocation that died', until: T }];
    ddb.on(QueryCommand).resolves({ Items: [{ sensor_id: { S: 'sensor-00001' } }] });
    ddb.on(BatchGetItemCommand).resolves({
      Responses: { 'alert-state': [{ sensor_id: { S: 'sensor-00001' }, level: { S: 'WARNING' }, version: { N: '4' }, pending: { S: JSON.stringify(pending) } }] },
    });
    const outcome = await run(kinesisEvent([reading(1, T + 1000, { congestion_index: 84 })])).promise;
    expect(outcome.alertsPublished).toBe(1);
    expect(JSON.parse(events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.Detail!).alert_id).toBe('x1');
  });

  it('leaves alerts a live invocation claimed for it to publish', async () => {
    const alert = { alert_id: 'x2', level: 'WARNING', previous_level: 'NORMAL', sensor_id: 'sensor-00001', zone_id: 'zone-1', congestion_index: 85, threshold: 80, reading_time: new Date(T).toISOString(), received_at: T, detected_at: new Date(T).toISOString() };
    const pending = [{ alert, owner: 'an invocation still running', until: Date.now() + 60_000 }];
    ddb.on(QueryCommand).resolves({ Items: [{ sensor_id: { S: 'sensor-00001' } }] });
    ddb.on(BatchGetItemCommand).resolves({
      Responses: { 'alert-state': [{ sensor_id: { S: 'sensor-00001' }, level: { S: 'WARNING' }, version: { N: '4' }, last_reading_ms: { N: String(T) }, pending: { S: JSON.stringify(pending) } }] },
    });
    const outcome = await run(kinesisEvent([reading(1, T + 1000, { congestion_index: 84 })])).promise;
    expect(outcome.alertsPublished).toBe(0);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(stateWrites()).toHaveLength(0);
  });

  it("quarantines a reading whose zone disagrees with its sensor's registry zone, or whose sensor has none", async () => {
    const event = kinesisEvent([
      reading(1, T, { registry_zone: 'zone-1' }),
      reading(2, T, { zone_id: 'zone-7', registry_zone: 'zone-2' }),
      { sent: reading(3, T, { received_at: undefined, thing_name: undefined }), thing: 'sensor-00003', receivedAt: T },
    ]);
    const { promise, lines } = run(event);
    const outcome = await promise;
    expect(outcome).toMatchObject({ stored: 1, quarantined: 2, response: { batchItemFailures: [] } });
    const sent = sqs
      .commandCalls(SendMessageBatchCommand)
      .filter((c) => c.args[0].input.QueueUrl === TEST_CONFIG.quarantineQueueUrl)
      .flatMap((c) => c.args[0].input.Entries!);
    expect(sent.map((e) => JSON.parse(e.MessageBody!).reason)).toEqual([
      'zone_id "zone-7" is not the registry zone "zone-2" of sensor "sensor-00002"',
      'no registry zone for sensor "sensor-00003": its thing has no zone attribute or is not of the sensor thing type',
    ]);
    const batchDoc = lines.map((l) => JSON.parse(l)).find((d) => d._aws && d.Service);
    expect(batchDoc).toMatchObject({ RecordsQuarantined: 2 });
  });

  it('writes its metrics as EMF lines, one per zone plus one for the batch', async () => {
    const { promise, lines } = run(kinesisEvent([reading(1, T), reading(2, T), reading(51, T)]));
    await promise;
    const emf = lines.map((l) => JSON.parse(l)).filter((d) => d._aws);
    expect(emf).toHaveLength(3);
    expect(emf[0]).toMatchObject({ Service: 'processor', RecordsIn: 3, RecordsStored: 3, ItemsWritten: 3 });
    expect(emf.slice(1).map((d) => d.ZoneId).sort()).toEqual(['zone-1', 'zone-2']);
  });
});
