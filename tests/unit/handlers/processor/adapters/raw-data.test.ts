import { FirehoseClient, PutRecordBatchCommand, ResourceNotFoundException, ServiceUnavailableException } from '@aws-sdk/client-firehose';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../../../../contract';
import { CallCounter } from '../../../../../handlers/processor/io';
import {
  groupCalls,
  MAX_CALL_BYTES,
  MAX_RECORD_BYTES,
  MAX_RECORDS_PER_CALL,
  packRecords,
  putRawRecords,
  type RawRecord,
  writeDigits,
} from '../../../../../handlers/processor/adapters/raw-data';
import { Payloads } from '../../../../../handlers/processor/core/payloads';
import { decodeRecord, MAX_RECORD_BYTES as MAX_RULE_RECORD_BYTES, validateRecord } from '../../../../../handlers/processor/core/validate';
import { toInputRecords } from '../../../../../handlers/processor/handler';
import { fakeIo } from '../../../../helpers/fake-io';
import { kinesisEvent, reading } from '../../../../helpers/kinesis';
import { TEST_CONFIG } from '../../../../helpers/processor-config';

const T = Date.now() - 10_000;
const lines = (r: RawRecord) => r.data.toString('utf8').split('\n');
/**
 * The batch's records as the handler has them before any sink: each decoded once (the payloads the
 * lake packs) and validated (which sets each valid record's receive time).
 */
const inputs = (payloads: Parameters<typeof kinesisEvent>[0]) => {
  const records = toInputRecords(kinesisEvent(payloads));
  const bytes = new Payloads(records, MAX_RULE_RECORD_BYTES);
  records.forEach((r, i) => validateRecord(r, TEST_CONFIG, Date.now(), -1, decodeRecord(r, bytes, i)));
  return { records, bytes };
};
/** packRecords over those records. */
const pack = (payloads: Parameters<typeof kinesisEvent>[0], positions: number[], maxRecordBytes?: number) => {
  const { records, bytes } = inputs(payloads);
  return packRecords(records, bytes, positions, maxRecordBytes);
};
const all = (n: number) => Array.from({ length: n }, (_, i) => i);
/** The largest reading validation accepts: 4 KiB. */
const NEAR_LIMIT = LIMITS.maxReadingBytes;
/** The sensor's part of a reading(): what it published (the rule's facts are not in its payload). */
const published = (r: object) => {
  const { received_at: _r, thing_name: _t, registry_zone: _z, ...sent } = r as Record<string, unknown>;
  return sent;
};
/** The line the lake gets for a reading(): what the sensor published, with the receive time the rule stamped. */
const lineOf = (r: object) => JSON.stringify({ ...published(r), received_at: (r as { received_at?: number }).received_at });
/** What a line adds to the published bytes: `,"received_at":<13 digits>` in place of nothing (the brace stays). */
const RECEIVED_AT_BYTES = `,"received_at":${T + 150}`.length;

/** A valid reading whose published JSON is exactly `bytes` bytes (padded with a field the lake ignores). */
function readingOfSize(sensor: number, bytes: number): Record<string, unknown> {
  const base = reading(sensor, T);
  const padding = bytes - JSON.stringify({ ...published(base), note: '' }).length;
  return { ...base, note: 'x'.repeat(padding) };
}

describe('packRecords', () => {
  it('writes each payload as it was received, one per line, in batch order', () => {
    const payloads = [reading(1, T), reading(2, T, { weather_condition: 'pluie légère' }), reading(3, T + 1000)];
    const [record, ...rest] = pack(payloads, all(3));
    expect(rest).toEqual([]);
    expect(record!.readings).toEqual([0, 1, 2]);
    expect(lines(record!)).toEqual([...payloads.map(lineOf), '']);
  });

  it('leaves out the positions not asked for (the quarantined records)', () => {
    const [record] = pack([reading(1, T), { raw: 'garbage' }, reading(2, T)], [0, 2]);
    expect(record!.readings).toEqual([0, 2]);
    expect(lines(record!).filter(Boolean).map((l) => JSON.parse(l).sensor_id)).toEqual(['sensor-00001', 'sensor-00002']);
  });

  it('turns line breaks between JSON tokens into spaces: still one reading per line, the same document', () => {
    const pretty = JSON.stringify(published(reading(7, T)), null, 2);
    expect(pretty).toContain('\n');
    const [record] = pack([{ sent: pretty, thing: 'sensor-00007', receivedAt: T + 150, registryZones: ['zone-7'] }, reading(8, T)], all(2));
    const [first, second, end] = lines(record!);
    expect(end).toBe('');
    expect(JSON.parse(first!)).toEqual(JSON.parse(lineOf(reading(7, T))));
    expect(JSON.parse(second!)).toEqual(JSON.parse(lineOf(reading(8, T))));
  });

  it('decodes an unpadded base64 payload as validation does (leniently), to the exact bytes', () => {
    const json = JSON.stringify(published(reading(9, T)));
    const unpadded = Buffer.from(json).toString('base64').replace(/=+$/, '');
    const record = JSON.stringify({ payload: unpadded, received_at: T + 150, registry_zones: ['zone-9'] });
    const [packed] = pack([{ base64: Buffer.from(record).toString('base64'), partitionKey: 'sensor-00009' }], [0]);
    expect(packed!.data.toString('utf8')).toBe(`${json.slice(0, -1)},"received_at":${T + 150}}\n`);
  });

  it('keeps every record within 1,000 KiB, fills each close to it, and loses no reading (2,000 readings of 4 KiB)', () => {
    const payloads = all(2_000).map((i) => readingOfSize(i, NEAR_LIMIT));
    const { records, bytes } = inputs(payloads);
    // The largest reading validation lets through: 4 KiB as published.
    expect(typeof validateRecord(records[0]!, TEST_CONFIG, Date.now())).toBe('object');
    expect(typeof validateRecord(inputs([readingOfSize(0, NEAR_LIMIT + 1)]).records[0]!, TEST_CONFIG, Date.now())).toBe('string');
    const packed = packRecords(records, bytes, all(2_000));
    const lineBytes = NEAR_LIMIT + RECEIVED_AT_BYTES + 1;
    expect(packed.length).toBeLessThanOrEqual(Math.ceil(2_000 / Math.floor(MAX_RECORD_BYTES / (lineBytes + 8))));
    for (const r of packed) expect(r.data.length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    for (const r of packed.slice(0, -1)) expect(r.data.length).toBeGreaterThan(MAX_RECORD_BYTES - 2 * lineBytes);
    expect(packed.flatMap((r) => r.readings)).toEqual(all(2_000));
    const sensors = packed.flatMap((r) => lines(r).filter(Boolean).map((l) => JSON.parse(l).sensor_id));
    expect(sensors).toEqual(payloads.map((p) => p.sensor_id));
  });

  it('puts a reading at the size limit in a record of its own when only one fits', () => {
    const big = readingOfSize(1, NEAR_LIMIT);
    const lineBytes = NEAR_LIMIT + RECEIVED_AT_BYTES + 1;
    const packed = pack([big, big, big], all(3), lineBytes + 20);
    expect(packed.map((r) => r.readings)).toEqual([[0], [1], [2]]);
    for (const r of packed) expect(r.data.length).toBe(lineBytes);
  });
});

describe('writeDigits', () => {
  it('writes what String(value) writes, for every safe integer size (receive times have 13 digits)', async () => {
    const fc = (await import('fast-check')).default;
    const out = Buffer.alloc(24);
    const written = (v: number) => out.toString('latin1', 2, writeDigits(out, 2, v));
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 1_000 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.maxSafeNat()), (v) => {
        expect(written(v)).toBe(String(v));
      }),
      { numRuns: 5000 },
    );
    for (const v of [0, 9, 10, 99_999_999, 100_000_000, 100_000_001, 1_765_000_000_120, Number.MAX_SAFE_INTEGER]) expect(written(v)).toBe(String(v));
  });
});

describe('groupCalls', () => {
  const record = (bytes: number): RawRecord => ({ data: Buffer.alloc(bytes, 0x20), readings: [] });

  it('puts at most 500 records in a call', () => {
    expect(groupCalls(all(1_200).map(() => record(10))).map((c) => c.length)).toEqual([MAX_RECORDS_PER_CALL, MAX_RECORDS_PER_CALL, 200]);
  });

  it('keeps a call within 4 MB: three full records, not four', () => {
    const calls = groupCalls(all(7).map(() => record(MAX_RECORD_BYTES)));
    expect(calls.map((c) => c.length)).toEqual([3, 3, 1]);
    for (const c of calls) expect(c.reduce((n, r) => n + r.data.length, 0)).toBeLessThanOrEqual(MAX_CALL_BYTES);
    expect(groupCalls(all(5).map(() => record(1_000_000))).map((c) => c.length)).toEqual([4, 1]);
  });
});

describe('putRawRecords (aws-sdk-client-mock)', () => {
  const firehose = mockClient(FirehoseClient);
  const client = new FirehoseClient({});
  // Records of 10 readings each.
  const records = (n: number) => pack(all(n).map((i) => readingOfSize(i, 4_000)), all(n), 10 * (4_000 + RECEIVED_AT_BYTES + 8));
  const sentRecords = () => firehose.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input.Records!.map((r) => Buffer.from(r.Data!).toString()));
  const ok = (input: { Records?: unknown[] }) => ({ FailedPutCount: 0, RequestResponses: input.Records!.map((_, i) => ({ RecordId: `r${i}` })) });

  beforeEach(() => firehose.reset());

  it('sends again only the records a partial failure returned with an ErrorCode', async () => {
    const packed = records(30); // 3 records of 10 readings
    expect(packed).toHaveLength(3);
    firehose
      .on(PutRecordBatchCommand)
      .resolvesOnce({
        FailedPutCount: 1,
        RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }, { RecordId: 'c' }],
      })
      .callsFake(ok);
    const { io, sleeps } = fakeIo();
    const counter = new CallCounter();
    const result = await putRawRecords(client, 'raw', packed, io, counter);
    expect(result.failed).toEqual([]);
    const [first, second] = sentRecords();
    expect(first).toHaveLength(3);
    expect(second).toEqual([packed[1]!.data.toString()]);
    expect(counter.counts.PutRecordBatch).toBe(2);
    expect(sleeps).toHaveLength(1);
    expect(firehose.commandCalls(PutRecordBatchCommand)[0]!.args[0].input.DeliveryStreamName).toBe('raw');
  });

  it('retries a throttled call (ServiceUnavailableException) with backoff until it goes through', async () => {
    const throttled = () => new ServiceUnavailableException({ message: 'Slow down.', $metadata: { httpStatusCode: 503 } });
    firehose.on(PutRecordBatchCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).callsFake(ok);
    const { io, sleeps } = fakeIo();
    const result = await putRawRecords(client, 'raw', records(10), io, new CallCounter());
    expect(result).toEqual({ failed: [], retries: 2 });
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]!).toBeGreaterThan(sleeps[0]!);
  });

  it('gives up on the records still failing when the deadline comes, and answers them', async () => {
    firehose.on(PutRecordBatchCommand).callsFake((input) => ({
      FailedPutCount: 1,
      RequestResponses: input.Records.map((_: unknown, i: number) => (i === 0 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'x' } : { RecordId: 'r' })),
    }));
    const packed = records(20);
    const { io } = fakeIo(2_000);
    const result = await putRawRecords(client, 'raw', packed, io, new CallCounter());
    expect(result.failed).toEqual([packed[0]]);
    expect(result.retries).toBeGreaterThan(1);
  });

  it('does not retry an error that will not pass (a missing stream)', async () => {
    firehose.on(PutRecordBatchCommand).rejects(new ResourceNotFoundException({ message: 'no such stream', $metadata: { httpStatusCode: 400 } }));
    const packed = records(10);
    const result = await putRawRecords(client, 'raw', packed, fakeIo().io, new CallCounter());
    expect(result).toEqual({ failed: packed, retries: 0 });
    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(1);
  });
});
