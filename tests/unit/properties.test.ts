import { BatchGetItemCommand, DynamoDBClient, QueryCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exampleReading } from '../../contract';
import { analyseBatch } from '../../handlers/processor/core/batch';
import { processBatch, toInputRecords } from '../../handlers/processor/handler';
import { processorSinks } from '../../handlers/processor/outputs';
import { addWindow, copyWindow, readingCount, windowOf } from '../../handlers/processor/core/window';
import { freshReadings, packOffsets, unpackOffsets, windowItem, windowWrite } from '../../handlers/processor/adapters/window-store';
import { kinesisEvent } from '../helpers/kinesis';
import { TEST_CONFIG } from '../helpers/processor-config';
import { clientsStubbing } from '../doubles/mocked-clients';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const options = { config: TEST_CONFIG, nowMs: NOW };

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ base64: Buffer.from(bytes).toString('base64') })),
  fc.string({ maxLength: 200 }).map((raw) => ({ base64: raw })),
  fc.json().map((raw) => ({ raw })),
  fc.record(
    {
      sensor_id: fc.oneof(fc.constantFrom('s1', 's2', 's3'), fc.string()),
      zone_id: fc.oneof(fc.constantFrom('z1', 'z2'), fc.string()),
      timestamp: fc.oneof(fc.date({ min: new Date(NOW - 48 * 3_600_000), max: new Date(NOW + 3_600_000), noInvalidDate: true }).map((d) => d.toISOString()), fc.string()),
      vehicle_count: fc.oneof(fc.integer({ min: -5, max: 20_000 }), fc.double()),
      avg_speed: fc.double({ min: -10, max: 400, noNaN: true }),
      congestion_index: fc.oneof(fc.double({ min: -10, max: 110, noNaN: true }), fc.constant(Number.NaN)),
      received_at: fc.integer({ min: NOW - 10_000, max: NOW }),
    },
    { requiredKeys: [] },
  ),
);

const validReading = fc.record({
  sensor_id: fc.constantFrom('s1', 's2', 's3', 's4'),
  zone_id: fc.constantFrom('z1', 'z2'),
  timestamp: fc.integer({ min: NOW - 3_600_000, max: NOW }).map((ms) => new Date(ms).toISOString()),
  vehicle_count: fc.integer({ min: 0, max: 10_000 }),
  avg_speed: fc.double({ min: 0, max: 300, noNaN: true }),
  congestion_index: fc.double({ min: 0, max: 100, noNaN: true }),
  received_at: fc.integer({ min: NOW - 10_000, max: NOW }),
  temperature: fc.option(fc.double({ min: -80, max: 80, noNaN: true }), { nil: undefined }),
}).map((r) => exampleReading(r));

describe('the core, over arbitrary input', () => {
  it('never throws and puts every record in exactly one place', () => {
    fc.assert(
      fc.property(fc.array(payload, { maxLength: 40 }), (payloads) => {
        const records = toInputRecords(kinesisEvent(payloads));
        const batch = analyseBatch(records, options);
        const seen = [...batch.quarantined.map((q) => q.index), ...batch.sensors.flatMap((r) => r.readings.map((x) => x.recordIndex))].sort((a, b) => a - b);
        // The windows hold the same records, each in one window.
        const inWindows = batch.windows.flatMap((w) => w.readings.map((r) => r.recordIndex)).sort((a, b) => a - b);
        expect(inWindows).toEqual(batch.sensors.flatMap((r) => r.readings.map((x) => x.recordIndex)).sort((a, b) => a - b));
        expect(seen).toEqual(records.map((_, i) => i));
        for (const q of batch.quarantined) expect(q.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('stores every valid reading once: one item per sensor and window, counts adding up to the distinct readings', () => {
    fc.assert(
      fc.property(fc.array(validReading, { minLength: 1, maxLength: 60 }), (readings) => {
        const batch = analyseBatch(toInputRecords(kinesisEvent(readings)), options);
        expect(batch.quarantined).toEqual([]);
        const windows = batch.windows.map((w) => w.aggregate);
        const distinctWindows = new Set(readings.map((r) => `${r.sensor_id} ${Math.floor(Date.parse(r.timestamp) / 60_000)}`));
        expect(windows).toHaveLength(distinctWindows.size);
        const distinctReadings = new Set(readings.map((r) => `${r.sensor_id} ${Date.parse(r.timestamp)}`));
        expect(windows.reduce((n, w) => n + readingCount(w), 0)).toBe(distinctReadings.size);
        // The aggregate folded as the readings came is the aggregate of the window's distinct readings.
        for (const w of batch.windows) {
          expect(windowItem(w.aggregate, TEST_CONFIG)).toEqual(windowItem(windowOf(w.sensorId, w.windowStartMs, w.readings), TEST_CONFIG));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('adds later readings to a stored window as writing all of them at once would (the update is the put of the whole)', () => {
    fc.assert(
      fc.property(fc.array(validReading, { minLength: 2, maxLength: 40 }), fc.nat(), (readings, cut) => {
        const oneSensor = readings.map((r) => ({ ...r, sensor_id: 's1', timestamp: new Date(Math.floor(NOW / 60_000) * 60_000 - 60_000 + (Date.parse(r.timestamp) % 60_000)).toISOString() }));
        const at = 1 + (cut % (oneSensor.length - 1));
        const [first, second] = [oneSensor.slice(0, at), oneSensor.slice(at)];
        const whole = analyseBatch(toInputRecords(kinesisEvent(oneSensor)), options).windows[0]!;
        const stored = analyseBatch(toInputRecords(kinesisEvent(first)), options).windows[0]!.aggregate;
        const delta = analyseBatch(toInputRecords(kinesisEvent(second)), options).windows[0]!;
        const fresh = freshReadings(stored, delta);
        const merged = addWindow(copyWindow(stored), fresh);
        expect(windowItem(merged, TEST_CONFIG)).toEqual(windowItem(whole.aggregate, TEST_CONFIG));
        // The write of the stored window with the new readings is the item of all of them, conditioned on the stored count.
        if (readingCount(fresh) === 0) return;
        const { write, packed } = windowWrite('t', stored, fresh, TEST_CONFIG);
        expect(write.Put!.Item).toEqual(windowItem(whole.aggregate, TEST_CONFIG));
        expect(unpackOffsets(packed)).toEqual(whole.aggregate.offsets);
        expect(write.Put!.ExpressionAttributeValues).toEqual({ ':known': { N: String(readingCount(stored)) } });
      }),
      { numRuns: 300 },
    );
  });
});

describe('packed offsets', () => {
  it('read back as written, whole or appended to', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 3_600_000 }), { maxLength: 80 }), fc.nat(), (values, cut) => {
        const offsets = [...values].sort((a, b) => a - b);
        expect(unpackOffsets(packOffsets(offsets))).toEqual(offsets);
        const at = offsets.length === 0 ? 0 : cut % (offsets.length + 1);
        const head = offsets.slice(0, at);
        expect(unpackOffsets(packOffsets(offsets.slice(at), packOffsets(head), head[head.length - 1] ?? 0))).toEqual(offsets);
      }),
      { numRuns: 500 },
    );
    // About two bytes a reading at 1 Hz: a full 60 s window in 120 bytes.
    expect(packOffsets(Array.from({ length: 60 }, (_, i) => i * 1000 + 7)).length).toBeLessThanOrEqual(120);
  });
});

describe('the handler, with AWS failing at random', () => {
  const ddb = mockClient(DynamoDBClient);
  const events = mockClient(EventBridgeClient);
  const sqs = mockClient(SQSClient);
  const firehose = mockClient(FirehoseClient);

  it('never throws and reports every record as stored, quarantined or retried, exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(payload, validReading), { maxLength: 40 }), fc.integer({ min: 0, max: 2 ** 31 }), async (payloads, seed) => {
        let state = seed;
        const flaky = () => {
          state = (state * 1103515245 + 12345) % 2 ** 31;
          return state % 3 === 0;
        };
        const fail = () => Object.assign(new Error('flaky'), { name: 'ThrottlingException' });
        ddb.reset();
        events.reset();
        sqs.reset();
        firehose.reset();
        ddb.on(TransactWriteItemsCommand).callsFake(() => { if (flaky()) throw fail(); return {}; });
        ddb.on(QueryCommand).callsFake(() => { if (flaky()) throw fail(); return { Items: [] }; });
        ddb.on(BatchGetItemCommand).callsFake(() => { if (flaky()) throw fail(); return { Responses: {} }; });
        events.on(PutEventsCommand).callsFake((input) => { if (flaky()) throw fail(); return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'e' })) }; });
        sqs.on(SendMessageBatchCommand).callsFake(() => { if (flaky()) throw fail(); return { Failed: [] }; });
        firehose.on(PutRecordBatchCommand).callsFake((input) => { if (flaky()) throw fail(); return { FailedPutCount: 0, RequestResponses: input.Records.map(() => ({ RecordId: 'r' })) }; });
        let now = NOW;
        const event = kinesisEvent(payloads);
        const outcome = await processBatch(event, { getRemainingTimeInMillis: () => 2_400 }, {
          config: TEST_CONFIG,
          sinks: processorSinks(TEST_CONFIG, clientsStubbing([DynamoDBClient, EventBridgeClient, SQSClient, FirehoseClient])),
          now: () => now,
          sleep: async (ms) => void (now += ms),
          random: () => 0.5,
          write: () => undefined,
        });
        expect(outcome.stored + outcome.quarantined + outcome.retried).toBe(event.Records.length);
        const failures = outcome.response.batchItemFailures.map((f) => f.itemIdentifier);
        expect(new Set(failures).size).toBe(outcome.retried);
        const sequenceNumbers = new Set(event.Records.map((r) => r.kinesis.sequenceNumber));
        for (const id of failures) expect(sequenceNumbers.has(id)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
