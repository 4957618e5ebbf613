import type { KinesisStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { laneOf, ShardPoller, type FailureRecord, type InvokeOutcome, type ShardSource, type StreamRecord } from '../../../../scripts/simulate/esm';
import { stackView, type EsmSettings } from '../../../../scripts/simulate/stack-view';

const record = (i: number, key = `sensor-${i % 3}`): StreamRecord => ({
  sequenceNumber: String(1000 + i),
  partitionKey: key,
  data: Buffer.from(JSON.stringify({ i })),
  approximateArrivalMs: Date.now(),
});

/** A shard that hands out its records once, then nothing. */
const source = (records: StreamRecord[]): ShardSource => {
  let given = false;
  return {
    shardId: 'shardId-000000000000',
    async read() {
      if (given) return [];
      given = true;
      return records;
    },
  };
};

const settings = (over: Partial<EsmSettings> = {}): EsmSettings => ({
  ...stackView({ EnvironmentSuffix: 'unit' }).esm,
  maximumBatchingWindowSeconds: 0,
  parallelizationFactor: 1,
  ...over,
});

/** Runs a poller over `records` with a scripted function until every record is done or dead-lettered. */
async function run(records: StreamRecord[], esm: EsmSettings, fn: (event: KinesisStreamEvent, call: number) => InvokeOutcome) {
  const calls: string[][] = [];
  const done: string[] = [];
  const failures: { records: string[]; record: FailureRecord }[] = [];
  const poller = new ShardPoller(
    source(records),
    {
      settings: esm,
      streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/s',
      region: 'us-east-1',
      idlePollMs: 1,
      retryDelayMs: () => 0,
      invoker: {
        async invoke(_lane, event) {
          calls.push(event.Records.map((r) => r.kinesis.sequenceNumber));
          return fn(event, calls.length);
        },
      },
      hooks: {
        onDone: (rs) => done.push(...rs.map((r) => r.sequenceNumber)),
        onFailure: async (rs, record) => {
          failures.push({ records: rs.map((r) => r.sequenceNumber), record });
        },
      },
    },
  );
  poller.start();
  for (let i = 0; i < 500 && done.length + failures.reduce((n, f) => n + f.records.length, 0) < records.length; i++) {
    await new Promise((r) => setTimeout(r, 2));
  }
  await poller.stop();
  return { calls, done, failures };
}

/** A poller of `shard` with a 1 s batching window and `invoke` as the function (the batching tests). */
const windowed = (shard: ShardSource, invoke: (event: KinesisStreamEvent) => Promise<InvokeOutcome>, over: Partial<EsmSettings> = {}, idlePollMs = 50) =>
  new ShardPoller(shard, {
    settings: settings({ maximumBatchingWindowSeconds: 1, ...over }),
    streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/s',
    region: 'us-east-1',
    idlePollMs,
    invoker: { invoke: (_lane, event) => invoke(event) },
    hooks: { onDone: () => undefined, onFailure: async () => undefined },
  });

const seqs = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => String(1000 + from + i));

describe('the event source mapping emulation', () => {
  it('takes the template settings: BatchSize, retries, bisect, record age, ReportBatchItemFailures, DLQ', () => {
    const esm = stackView({ EnvironmentSuffix: 'unit', BatchingWindowSeconds: '7', ProcessorParallelizationFactor: '3' }).esm;
    expect(esm).toMatchObject({
      batchSize: 10_000,
      maximumBatchingWindowSeconds: 7,
      parallelizationFactor: 3,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 5,
      maximumRecordAgeSeconds: -1,
      reportBatchItemFailures: true,
      onFailureResource: 'ProcessorDeadLetterQueue',
    });
  });

  it('resumes from the lowest failed sequence number the function reports', async () => {
    const records = Array.from({ length: 10 }, (_, i) => record(i));
    // First call: 1006 and 1003 fail (reported out of order); second call: all succeed.
    const { calls, done, failures } = await run(records, settings(), (_e, call) =>
      call === 1 ? { ok: true, response: { batchItemFailures: [{ itemIdentifier: '1006' }, { itemIdentifier: '1003' }] } } : { ok: true, response: { batchItemFailures: [] } },
    );
    expect(calls).toEqual([seqs(0, 10), seqs(3, 10)]);
    expect(done).toEqual(seqs(0, 10));
    expect(failures).toEqual([]);
  });

  it('treats an unknown item identifier as a failure of the whole batch', async () => {
    const records = Array.from({ length: 4 }, (_, i) => record(i));
    const { calls } = await run(records, settings({ bisectBatchOnFunctionError: false }), (_e, call) =>
      call === 1 ? { ok: true, response: { batchItemFailures: [{ itemIdentifier: '' }] } } : { ok: true, response: null },
    );
    expect(calls).toEqual([seqs(0, 4), seqs(0, 4)]);
  });

  it('bisects a batch whose invocation fails, then sends the poison record alone to the on-failure destination', async () => {
    const records = Array.from({ length: 8 }, (_, i) => record(i));
    const poison = '1005';
    const { calls, done, failures } = await run(records, settings({ maximumRetryAttempts: 5 }), (event) =>
      event.Records.some((r) => r.kinesis.sequenceNumber === poison) ? { ok: false, error: 'boom' } : { ok: true, response: { batchItemFailures: [] } },
    );
    expect(calls.slice(0, 3)).toEqual([seqs(0, 8), seqs(0, 4), seqs(4, 8)]);
    expect(done.sort()).toEqual(seqs(0, 8).filter((s) => s !== poison));
    expect(failures).toHaveLength(1);
    expect(failures[0]!.records).toEqual([poison]);
    expect(failures[0]!.record).toMatchObject({ condition: 'RetryAttemptsExhausted', functionError: 'boom', startSequenceNumber: poison, endSequenceNumber: poison });
  });

  it('gives up after MaximumRetryAttempts without bisecting when bisect is off', async () => {
    const records = Array.from({ length: 3 }, (_, i) => record(i));
    const { calls, failures } = await run(records, settings({ bisectBatchOnFunctionError: false, maximumRetryAttempts: 2 }), () => ({ ok: false, error: 'down' }));
    expect(calls).toEqual([seqs(0, 3), seqs(0, 3), seqs(0, 3)]);
    expect(failures.map((f) => f.records)).toEqual([seqs(0, 3)]);
  });

  it('sends records older than MaximumRecordAgeInSeconds to the destination without invoking', async () => {
    const old = { ...record(0), approximateArrivalMs: Date.now() - 120_000 };
    const { calls, failures, done } = await run([old, record(1)], settings({ maximumRecordAgeSeconds: 60 }), () => ({ ok: true, response: null }));
    expect(failures.map((f) => [f.records, f.record.condition])).toEqual([[['1000'], 'RecordAgeExceeded']]);
    expect(calls).toEqual([['1001']]);
    expect(done).toEqual(['1001']);
  });

  it('splits a shard into ParallelizationFactor lanes by partition key, each key in order', async () => {
    const records = Array.from({ length: 30 }, (_, i) => record(i, `sensor-${i % 6}`));
    const { calls, done } = await run(records, settings({ parallelizationFactor: 3, batchSize: 4 }), () => ({ ok: true, response: null }));
    expect(done.sort()).toEqual(seqs(0, 30));
    for (const batch of calls) {
      const lanes = new Set(batch.map((s) => laneOf(`sensor-${(Number(s) - 1000) % 6}`, 3)));
      expect(lanes.size).toBe(1);
      expect(batch.length).toBeLessThanOrEqual(4);
    }
    const order = (key: string) => calls.flat().filter((s) => `sensor-${(Number(s) - 1000) % 6}` === key);
    for (let k = 0; k < 6; k++) expect(order(`sensor-${k}`)).toEqual([...order(`sensor-${k}`)].sort());
  });

  it('starts a lane\'s next batching window when its previous invocation completes, as Lambda does for Kinesis', async () => {
    // Window 1 s; the first batch's invocation takes 600 ms; the second batch's records arrive
    // while it runs. Lambda: the next window begins when the invocation completes, so the second
    // batch goes a whole window after it (a window counted from the records' arrival would send it
    // 500 ms after). Delays under load only lengthen the gap.
    const started = Date.now();
    let reads = 0;
    const later = [record(1, 'sensor-0'), record(2, 'sensor-0')];
    const shard: ShardSource = {
      shardId: 'shardId-000000000000',
      async read() {
        reads++;
        if (reads === 1) return [record(0, 'sensor-0')];
        if (later.length > 0 && Date.now() - started >= 1_100) return later.splice(0);
        return [];
      },
    };
    const invocations: { at: number; ended: number; records: number }[] = [];
    const poller = windowed(shard, async (event) => {
      const at = Date.now();
      if (invocations.length === 0) await new Promise((r) => setTimeout(r, 600));
      invocations.push({ at, ended: Date.now(), records: event.Records.length });
      return { ok: true, response: null };
    });
    poller.start();
    for (let i = 0; i < 1_000 && invocations.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await poller.stop();
    expect(invocations.map((i) => i.records)).toEqual([1, 2]);
    expect(invocations[1]!.at - invocations[0]!.ended).toBeGreaterThanOrEqual(990);
  });

  it('sends a batch when its window ends, not when a slow poll of the shard returns', async () => {
    // The second GetRecords hangs for 3 s; the first poll's record must go when its 1 s window
    // ends, while that poll is still out (not when it returns).
    let reads = 0;
    let readOut = false;
    const shard: ShardSource = {
      shardId: 'shardId-000000000000',
      async read() {
        reads++;
        if (reads === 1) return [record(0, 'sensor-0')];
        if (reads === 2) {
          readOut = true;
          await new Promise((r) => setTimeout(r, 3_000));
          readOut = false;
        }
        return [];
      },
    };
    const during: boolean[] = [];
    const poller = windowed(shard, async () => {
      during.push(readOut);
      return { ok: true, response: null };
    });
    poller.start();
    for (let i = 0; i < 1_000 && during.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await poller.stop();
    expect(during).toEqual([true]);
  });

  it('starts no invocation once stopped: a full batch queued behind the invocation in flight stays on the stream, and stop waits for that invocation', async () => {
    // BatchSize 2; the first invocation is held until stop() has been called; two more records
    // (a full batch) queue behind it. A mapping that is disabled invokes nothing more: the batch
    // stays pending (on the stream), and stop() resolves only once the held invocation ended.
    let reads = 0;
    const shard: ShardSource = {
      shardId: 'shardId-000000000000',
      async read() {
        reads++;
        if (reads === 1) return [record(0, 'sensor-0'), record(1, 'sensor-0')];
        if (reads === 2) return [record(2, 'sensor-0'), record(3, 'sensor-0')];
        return [];
      },
    };
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const invoked: string[][] = [];
    const ended: string[][] = [];
    const poller = windowed(
      shard,
      async (event) => {
        const taken = event.Records.map((r) => r.kinesis.sequenceNumber);
        invoked.push(taken);
        if (invoked.length === 1) await held;
        ended.push(taken);
        return { ok: true, response: null };
      },
      { batchSize: 2 },
      10,
    );
    poller.start();
    for (let i = 0; i < 500 && (invoked.length < 1 || poller.pending < 2); i++) await new Promise((r) => setTimeout(r, 10));
    expect(poller.pending).toBe(2);
    let stopped = false;
    const stopping = poller.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false); // the invocation in flight has not ended
    release();
    await stopping;
    await new Promise((r) => setTimeout(r, 50));
    expect(ended).toEqual([['1000', '1001']]);
    expect(invoked).toEqual([['1000', '1001']]);
    expect(poller.pending).toBe(2);
  });
});
