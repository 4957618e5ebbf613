/**
 * The topic rule's Kinesis action, locally: records gathered into PutRecords calls (at most 500
 * records and 5 MB each, https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html),
 * a few calls in flight, records that fail (throttled, FailedRecordCount) retried with backoff, and
 * what still fails handed to the rule's error action.
 */
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { MAX_PUT_RECORDS, MAX_PUT_RECORDS_BYTES } from '../../handlers/processor/limits';


export interface PendingRecord<M> {
  data: Buffer;
  partitionKey: string;
  meta: M;
  attempts: number;
}

export interface KinesisWriterOptions<M> {
  client: KinesisClient;
  streamName: string;
  /** How long records wait for company before a call (ms; default 200: fewer, fuller calls to moto). */
  lingerMs?: number;
  inFlight?: number;
  maxAttempts?: number;
  onPut(meta: M, shardId: string, sequenceNumber: string): void;
  onError(meta: M, reason: string): void;
}

export class KinesisWriter<M> {
  private buffer: PendingRecord<M>[] = [];
  private bufferBytes = 0;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  calls = 0;
  retried = 0;
  private stopped = false;

  constructor(private readonly options: KinesisWriterOptions<M>) {}

  put(data: Buffer, partitionKey: string, meta: M): void {
    if (this.stopped) return;
    this.enqueue({ data, partitionKey, meta, attempts: 0 });
  }

  private enqueue(r: PendingRecord<M>): void {
    this.buffer.push(r);
    this.bufferBytes += r.data.length + r.partitionKey.length;
    if (this.buffer.length >= MAX_PUT_RECORDS || this.bufferBytes >= MAX_PUT_RECORDS_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.lingerMs ?? 200);
  }

  /** Records not yet accepted by the stream. */
  get pending(): number {
    return this.buffer.length + this.running * MAX_PUT_RECORDS;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    while (this.buffer.length > 0 && this.running < (this.options.inFlight ?? 4)) {
      let bytes = 0;
      let take = 0;
      while (take < this.buffer.length && take < MAX_PUT_RECORDS) {
        const r = this.buffer[take]!;
        if (take > 0 && bytes + r.data.length + r.partitionKey.length > MAX_PUT_RECORDS_BYTES) break;
        bytes += r.data.length + r.partitionKey.length;
        take++;
      }
      const batch = this.buffer.splice(0, take);
      this.bufferBytes -= bytes;
      this.running++;
      void this.send(batch).finally(() => {
        this.running--;
        if (this.buffer.length > 0) this.flush();
        else if (this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
      });
    }
    if (this.buffer.length > 0) this.timer ??= setTimeout(() => this.flush(), this.options.lingerMs ?? 200);
  }

  private async send(batch: PendingRecord<M>[]): Promise<void> {
    this.calls++;
    let failed: { r: PendingRecord<M>; reason: string }[] = [];
    try {
      const out = await this.options.client.send(
        new PutRecordsCommand({
          StreamName: this.options.streamName,
          Records: batch.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })),
        }),
      );
      out.Records?.forEach((result, i) => {
        const r = batch[i]!;
        if (result.ErrorCode || !result.SequenceNumber) failed.push({ r, reason: `${result.ErrorCode}: ${result.ErrorMessage}` });
        else this.options.onPut(r.meta, result.ShardId!, result.SequenceNumber);
      });
    } catch (error) {
      failed = batch.map((r) => ({ r, reason: `${(error as Error).name}: ${(error as Error).message}` }));
    }
    if (this.stopped) return;
    const maxAttempts = this.options.maxAttempts ?? 5;
    for (const { r, reason } of failed) {
      r.attempts++;
      if (r.attempts >= maxAttempts) this.options.onError(r.meta, reason);
    }
    const again = failed.filter(({ r }) => r.attempts < maxAttempts);
    if (again.length > 0) {
      this.retried += again.length;
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 50 * 2 ** again[0]!.r.attempts) * (0.5 + Math.random())));
      for (const { r } of again) this.enqueue(r);
    }
  }

  /** Stops putting: what is not on the stream yet stays where it is (in flight), no error action. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Resolves once every record given so far has been put or given up on. */
  drain(): Promise<void> {
    if (this.buffer.length === 0 && this.running === 0) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
