/** sinks/raw-data.ts: the raw-data lake as a sink, alone (aws-sdk-client-mock) and in processBatch (AWS in memory). */
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { CallCounter } from '../../../../../handlers/processor/io';
import { analyseBatch } from '../../../../../handlers/processor/core/batch';
import { toInputRecords } from '../../../../../handlers/processor/handler';
import { rawDataSink, sequenceRange } from '../../../../../handlers/processor/sinks/raw-data';
import { fakeIo } from '../../../../helpers/fake-io';
import { kinesisEvent, reading } from '../../../../helpers/kinesis';
import { TEST_CONFIG } from '../../../../helpers/processor-config';
import { inMemoryContainer, runBatch } from '../../../../helpers/processor-run';

const T = Date.now() - 10_000;

describe('rawDataSink (aws-sdk-client-mock)', () => {
  const firehose = mockClient(FirehoseClient);
  const client = new FirehoseClient({});

  beforeEach(() => firehose.reset());

  it('as a sink: reports the failed records\' readings for retry, and counts delivered and failed records', async () => {
    firehose.on(PutRecordBatchCommand).callsFake((input) => ({
      FailedPutCount: input.Records.length,
      RequestResponses: input.Records.map(() => ({ ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' })),
    }));
    const event = kinesisEvent([reading(1, T), { raw: 'garbage' }, reading(2, T)]);
    const batch = analyseBatch(toInputRecords(event), { config: TEST_CONFIG, nowMs: Date.now() });
    const { io } = fakeIo(1_000);
    const result = await rawDataSink(client, 'raw')(batch, { io, counter: new CallCounter(), now: io.now });
    expect([...result.failedRecords]).toEqual([0, 2]);
    expect(result.counts).toEqual({ rawRecordsDelivered: 0, rawDeliveryFailures: 1 });
  });

  it('as a sink: makes no call for a batch without a valid reading', async () => {
    const batch = analyseBatch(toInputRecords(kinesisEvent([{ raw: 'garbage' }])), { config: TEST_CONFIG, nowMs: Date.now() });
    const result = await rawDataSink(client, 'raw')(batch, { io: fakeIo().io, counter: new CallCounter(), now: Date.now });
    expect([...result.failedRecords]).toEqual([]);
    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(0);
  });
});

describe('processBatch with the raw-data lake (AWS in memory)', () => {
  const container = inMemoryContainer;
  const run = runBatch;
  const payloads = [reading(1, T), reading(2, T, { congestion_index: 90 }), { raw: 'garbage' }, reading(3, T)];

  it('puts the valid readings in one record, and says so in the metrics', async () => {
    const { aws, sinks } = container(() => 'ok');
    const event = kinesisEvent(payloads);
    const { outcome, service } = await run(sinks, event);
    expect(outcome).toMatchObject({ recordsIn: 4, stored: 3, quarantined: 1, retried: 0, rawRecordsDelivered: 1, rawDeliveryFailures: 0 });
    expect(outcome.calls.PutRecordBatch).toBe(1);
    const [record, ...rest] = aws.firehose.get(TEST_CONFIG.deliveryStreamName)!;
    expect(rest).toEqual([]);
    expect(Buffer.from(record!).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l).sensor_id)).toEqual([
      'sensor-00001',
      'sensor-00002',
      'sensor-00003',
    ]);
    expect(service).toMatchObject({ RawRecordsDelivered: 1, RawDeliveryFailures: 0 });
  });

  it('does not put again, when Lambda retries the batch, the readings this container already delivered', async () => {
    let windowsThrottled = true;
    const { aws, sinks } = container((operation) => (operation === 'TransactWriteItems' && windowsThrottled ? 'throttle' : 'ok'));
    const event = kinesisEvent(payloads);
    const first = await run(sinks, event);
    expect(first.outcome).toMatchObject({ retried: 3, rawRecordsDelivered: 1 });
    windowsThrottled = false;
    const retry = await run(sinks, event);
    expect(retry.outcome).toMatchObject({ retried: 0, stored: 3, rawRecordsDelivered: 0 });
    expect(retry.outcome.calls.PutRecordBatch).toBeUndefined();
    const lake = aws.firehose.get(TEST_CONFIG.deliveryStreamName)!.flatMap((r) => Buffer.from(r).toString().split('\n').filter(Boolean));
    expect(lake.map((l) => JSON.parse(l).sensor_id)).toEqual(['sensor-00001', 'sensor-00002', 'sensor-00003']);
  });

  it('retries the valid readings when Firehose will not take them, and every record still ends in one place', async () => {
    const { aws, sinks } = container((operation) => (operation === 'PutRecordBatch' ? 'throttle' : 'ok'));
    const event = kinesisEvent(payloads);
    const { outcome, service } = await run(sinks, event);
    expect(outcome).toMatchObject({ recordsIn: 4, stored: 0, quarantined: 1, retried: 3, rawRecordsDelivered: 0, rawDeliveryFailures: 1 });
    expect(outcome.stored + outcome.quarantined + outcome.retried).toBe(outcome.recordsIn);
    expect(outcome.response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([0, 1, 3].map((i) => event.Records[i]!.kinesis.sequenceNumber));
    expect(aws.firehose.get(TEST_CONFIG.deliveryStreamName)).toBeUndefined();
    expect(service).toMatchObject({ RecordsRetried: 3, RawRecordsDelivered: 0, RawDeliveryFailures: 1 });
    // The readings table and the alert did their part: the retry finds them done (exactly once there).
    expect(outcome.itemsWritten).toBe(3);
  });
});

describe('sequenceRange', () => {
  const records = (sequenceNumbers: string[]) => sequenceNumbers.map((sequenceNumber) => ({ sequenceNumber }) as Parameters<typeof sequenceRange>[0][number]);
  const ordered = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

  it('answers the lowest and highest sequence numbers, in order or not, as numbers compare', () => {
    // Kinesis sequence numbers: decimal strings of up to 128 digits, compared as numbers (by length, then digit by digit).
    const sequence = fc.bigInt({ min: 0n, max: 10n ** 60n }).map(String);
    fc.assert(
      fc.property(fc.uniqueArray(sequence, { minLength: 1, maxLength: 40 }), fc.boolean(), (numbers, sort) => {
        const batch = sort ? [...numbers].sort((a, b) => ordered(BigInt(a), BigInt(b))) : numbers;
        const values = batch.map(BigInt).sort(ordered);
        expect(sequenceRange(records(batch))).toEqual({ lowest: String(values[0]), highest: String(values[values.length - 1]) });
      }),
      { numRuns: 2_000 },
    );
  });

  it('finds the range of a batch out of order past its first pair', () => {
    expect(sequenceRange(records(['100', '200', '150', '90', '300', '250']))).toEqual({ lowest: '90', highest: '300' });
  });
});
