/**
 * The Kinesis event source mapping, emulated: one poller per shard, each shard's records split
 * into ParallelizationFactor lanes by partition key (so one sensor's readings stay in order), one
 * invocation in flight per lane, batches of up to BatchSize records gathered for up to
 * MaximumBatchingWindowInSeconds, and the failure handling the template configures.
 *
 * The batching window, as Lambda documents it for Kinesis: a batch goes when it is full (BatchSize
 * or 6 MB) or its window has elapsed, and "the next batching window begins as soon as the previous
 * function invocation completes" (for Kafka and MQ sources it begins with the first record
 * instead): a lane's window starts at the later of its previous invocation's end and its first
 * record queued (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html,
 * Batching behavior). A batch goes the moment its window ends (a timer, not a periodic check).
 * Failures:
 *
 * - ReportBatchItemFailures: the batch is retried from the lowest failed sequence number (the
 *   records before it are checkpointed); with BisectBatchOnFunctionError too, the batch is split
 *   at that sequence number and only the rest is retried;
 * - a function error (a throw, a crash, a timeout) with BisectBatchOnFunctionError: the batch is
 *   split in two halves, each retried on its own;
 * - MaximumRetryAttempts bounds the retries, MaximumRecordAgeInSeconds (-1: no limit) the age of
 *   a record; records given up on go to the on-failure destination as a batch description.
 *
 * Sources: https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html
 * (lowest failed sequence number; bisect at the returned sequence number),
 * https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html (a poll per shard once a second
 * when idle; partition-key order with a parallelization factor; on-failure destinations),
 * https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html (the settings).
 *
 * Pure of I/O: the stream is read through a `ShardSource`, the function called through an
 * `Invoker`, so the unit tests drive it with fakes.
 */
import { createHash } from 'node:crypto';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { EsmSettings } from './stack-view';

/** A record as the stream gives it. */
export interface StreamRecord {
  sequenceNumber: string;
  partitionKey: string;
  data: Buffer;
  approximateArrivalMs: number;
}

/** Reads a shard from where it was left: the next records, possibly none. */
export interface ShardSource {
  shardId: string;
  read(limit: number): Promise<StreamRecord[]>;
}

export type InvokeOutcome = (
  | { ok: true; response: { batchItemFailures?: { itemIdentifier?: string }[] } | null | undefined }
  | { ok: false; error: string }
) & {
  /** A cold start: how long the container this invocation started took to be ready (Lambda's Init Duration). */
  initMs?: number;
};

export interface Invoker {
  /** Calls the function with one batch, on the lane's container. */
  invoke(lane: number, event: KinesisStreamEvent): Promise<InvokeOutcome>;
}

/** What the on-failure destination receives (the shape of Lambda's invocation record for Kinesis). */
export interface FailureRecord {
  condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
  approximateInvokeCount: number;
  functionError?: string;
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  batchSize: number;
}

export interface EsmHooks {
  /** Records the function took (a successful invocation, or the records before the lowest failure). */
  onDone(records: StreamRecord[], atMs: number): void;
  /** Records given up on, sent to the on-failure destination. */
  onFailure(records: StreamRecord[], record: FailureRecord): Promise<void>;
  onInvoke?(lane: number, size: number, outcome: InvokeOutcome, ms: number): void;
}

export interface EsmOptions {
  settings: EsmSettings;
  streamArn: string;
  region: string;
  invoker: Invoker;
  hooks: EsmHooks;
  /** Pause between polls of an idle shard (Lambda: once a second). */
  idlePollMs?: number;
  /** Backoff before a retry of a failed batch. */
  retryDelayMs?: (attempt: number) => number;
  now?: () => number;
}

/** Lambda's invocation payload limit for a Kinesis batch (6 MB). */
export const MAX_BATCH_BYTES = 6 * 1024 * 1024;
/** Kinesis GetRecords returns at most 10,000 records per call. */
export const MAX_GET_RECORDS = 10_000;

/** The lane of a partition key: its MD5, as Kinesis hashes keys, modulo the parallelization factor. */
export const laneOf = (partitionKey: string, factor: number): number =>
  factor <= 1 ? 0 : createHash('md5').update(partitionKey).digest().readUInt32BE(0) % factor;

export function kinesisEvent(records: StreamRecord[], shardId: string, streamArn: string, region: string): KinesisStreamEvent {
  return {
    Records: records.map(
      (r): KinesisStreamRecord => ({
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${shardId}:${r.sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::123456789012:role/local-simulator',
        awsRegion: region,
        eventSourceARN: streamArn,
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: r.partitionKey,
          sequenceNumber: r.sequenceNumber,
          data: r.data.toString('base64'),
          approximateArrivalTimestamp: r.approximateArrivalMs / 1000,
        },
      }),
    ),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One lane of one shard: its queue of records and its single invocation in flight. */
class Lane {
  queue: StreamRecord[] = [];
  queueBytes = 0;
  busy = false;
  firstQueuedAt = 0;
  /** When its previous invocation (with its retries) ended: its next batching window starts no earlier. */
  readyAt = 0;
  constructor(readonly index: number) {}
  /** When its queued batch goes if it does not fill first. */
  dueAt(windowMs: number): number {
    return Math.max(this.firstQueuedAt, this.readyAt) + windowMs;
  }
}

/** The emulated mapping of one shard. */
export class ShardPoller {
  private lanes: Lane[];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private inFlight = new Set<Promise<void>>();
  /** Fires when the earliest window of an idle lane with records queued ends. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly windowMs: number;
  private readonly now: () => number;
  invocations = 0;

  constructor(
    private readonly source: ShardSource,
    private readonly options: EsmOptions,
    /** The first lane's global index (lanes of all shards are numbered together: one container each). */
    private readonly laneBase = 0,
  ) {
    this.lanes = Array.from({ length: Math.max(1, options.settings.parallelizationFactor) }, (_, i) => new Lane(i));
    this.now = options.now ?? Date.now;
    this.windowMs = options.settings.maximumBatchingWindowSeconds * 1000;
  }

  start(): void {
    this.loop = this.run();
  }

  /**
   * Stops polling, retrying and invoking (as a disabled mapping does: records still queued stay on
   * the stream, `pending`); resolves once every invocation in flight has ended, or after `graceMs`
   * (what is still in an invocation then stays on the stream, in flight).
   */
  async stop(graceMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.loop;
    const all = Promise.all([...this.inFlight]).then(() => undefined);
    if (Number.isFinite(graceMs)) await Promise.race([all, sleep(graceMs)]);
    else await all;
  }

  /** Records read but not yet taken by the function (queued or in an invocation). */
  get pending(): number {
    return this.lanes.reduce((n, l) => n + l.queue.length, 0);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let records: StreamRecord[] = [];
      try {
        records = await this.source.read(MAX_GET_RECORDS);
      } catch {
        records = [];
      }
      for (const r of records) {
        const lane = this.lanes[laneOf(r.partitionKey, this.lanes.length)]!;
        if (lane.queue.length === 0) lane.firstQueuedAt = this.now();
        lane.queue.push(r);
        lane.queueBytes += r.data.length * 1.34 + 200;
      }
      this.dispatch();
      // A full page: read on at once. Otherwise the next poll in a second (Lambda's base rate),
      // looking every quarter second whether the mapping was stopped. Batches go by the timer.
      if (records.length < MAX_GET_RECORDS) {
        const until = this.now() + (this.options.idlePollMs ?? 1000);
        while (!this.stopped && this.now() < until) await sleep(Math.min(250, Math.max(1, until - this.now())));
      }
    }
  }

  /**
   * Starts an invocation on every idle lane whose batch is full or whose window has elapsed, then
   * sets the timer for the next window to end. Once stopped, starts none.
   */
  private dispatch(): void {
    const { settings } = this.options;
    if (this.stopped) return;
    for (const lane of this.lanes) {
      if (lane.busy || lane.queue.length === 0) continue;
      const full = lane.queue.length >= settings.batchSize || lane.queueBytes >= MAX_BATCH_BYTES;
      if (!full && this.now() < lane.dueAt(this.windowMs)) continue;
      let take = Math.min(settings.batchSize, lane.queue.length);
      let bytes = 0;
      for (let i = 0; i < take; i++) {
        bytes += lane.queue[i]!.data.length * 1.34 + 200;
        if (bytes > MAX_BATCH_BYTES) {
          take = Math.max(1, i);
          break;
        }
      }
      const batch = lane.queue.splice(0, take);
      lane.queueBytes = lane.queue.reduce((n, r) => n + r.data.length * 1.34 + 200, 0);
      lane.firstQueuedAt = this.now();
      lane.busy = true;
      const run = this.deliver(lane.index, batch, 0).finally(() => {
        lane.busy = false;
        lane.readyAt = this.now();
        this.inFlight.delete(run);
        this.dispatch();
      });
      this.inFlight.add(run);
    }
    this.schedule();
  }

  /** Sets the timer for the earliest end of an idle lane's window (a busy lane dispatches when its invocation ends). */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    let due = Number.POSITIVE_INFINITY;
    for (const lane of this.lanes) if (!lane.busy && lane.queue.length > 0) due = Math.min(due, lane.dueAt(this.windowMs));
    if (due !== Number.POSITIVE_INFINITY) this.timer = setTimeout(() => this.dispatch(), Math.max(0, due - this.now()));
  }

  /**
   * Delivers a batch until it is taken or given up on: retries from the lowest failed sequence
   * number, bisects on function errors, bounded by MaximumRetryAttempts and MaximumRecordAgeInSeconds.
   */
  async deliver(lane: number, batch: StreamRecord[], retriesSoFar: number): Promise<void> {
    const { settings, invoker, hooks } = this.options;
    let records = batch;
    let retries = retriesSoFar;
    let invokes = 0;
    for (;;) {
      if (settings.maximumRecordAgeSeconds !== -1) {
        const oldest = this.now() - settings.maximumRecordAgeSeconds * 1000;
        const expired = records.filter((r) => r.approximateArrivalMs < oldest);
        if (expired.length > 0) {
          await hooks.onFailure(expired, this.failure('RecordAgeExceeded', expired, invokes));
          records = records.filter((r) => r.approximateArrivalMs >= oldest);
          if (records.length === 0) return;
        }
      }
      const started = this.now();
      const outcome = await invoker.invoke(this.laneBase + lane, kinesisEvent(records, this.source.shardId, this.options.streamArn, this.options.region));
      this.invocations++;
      invokes++;
      hooks.onInvoke?.(this.laneBase + lane, records.length, outcome, this.now() - started);
      let rest: StreamRecord[];
      let functionError: string | undefined;
      if (outcome.ok) {
        const failures = settings.reportBatchItemFailures ? (outcome.response?.batchItemFailures ?? []) : [];
        if (failures.length === 0) {
          hooks.onDone(records, this.now());
          return;
        }
        const positions = failures.map((f) => records.findIndex((r) => r.sequenceNumber === f.itemIdentifier));
        if (positions.some((p) => p < 0)) {
          // An empty, null or unknown itemIdentifier fails the whole batch.
          rest = records;
          functionError = 'invalid batchItemFailures';
        } else {
          const lowest = Math.min(...positions);
          if (lowest > 0) hooks.onDone(records.slice(0, lowest), this.now());
          rest = records.slice(lowest);
        }
      } else {
        rest = records;
        functionError = outcome.error;
      }
      // Stopping: what is left stays on the stream (a mapping that is disabled resumes from its checkpoint).
      if (this.stopped) return;
      retries++;
      if (retries > settings.maximumRetryAttempts && settings.maximumRetryAttempts !== -1) {
        await hooks.onFailure(rest, { ...this.failure('RetryAttemptsExhausted', rest, invokes), functionError });
        return;
      }
      await sleep(this.options.retryDelayMs?.(retries) ?? Math.min(2_000, 100 * 2 ** (retries - 1)));
      if (functionError !== undefined && settings.bisectBatchOnFunctionError && rest.length > 1) {
        const half = Math.ceil(rest.length / 2);
        await this.deliver(lane, rest.slice(0, half), retries);
        await this.deliver(lane, rest.slice(half), retries);
        return;
      }
      records = rest;
    }
  }

  private failure(condition: FailureRecord['condition'], records: StreamRecord[], invokes: number): FailureRecord {
    return {
      condition,
      approximateInvokeCount: invokes,
      shardId: this.source.shardId,
      startSequenceNumber: records[0]!.sequenceNumber,
      endSequenceNumber: records[records.length - 1]!.sequenceNumber,
      batchSize: records.length,
    };
  }
}
