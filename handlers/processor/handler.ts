/**
 * One Kinesis batch: the pure core analyses it, every sink takes it at once, the union of what
 * the sinks could not handle is reported for retry, and the counts become metrics. Every record
 * ends in exactly one place: stored, quarantined, or reported back for retry (batchItemFailures).
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { CallCounter, CallLatency, DEFAULT_IO, type IoContext } from './io';
import type { ProcessorConfig } from './config';
import { analyseBatch } from './core/batch';
import { SINK_COUNTS, type BatchCounts, type HandlerCount, type SinkCount } from '../../contract';
import { emfDocuments } from './core/metrics';
import type { InputRecord } from './core/types';
import { jsonLogger } from './log';
import type { Sink } from './sinks/sink';

export interface HandlerDeps {
  config: ProcessorConfig;
  /** The outputs (processorSinks in outputs.ts; tests may pass their own). */
  sinks: Sink[];
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Where EMF metric documents and log lines go (stdout in Lambda). */
  write?: (line: string) => void;
  io?: Partial<Pick<IoContext, 'callTimeoutMs' | 'concurrency' | 'backoffBaseMs' | 'backoffCapMs'>>;
}

/**
 * Time kept back from the Lambda timeout so the handler can always answer: a tenth of the time
 * left, at least 250 ms and at most 2 s (abandoning the calls still in flight and writing the
 * metrics take milliseconds), so that a short timeout keeps most of its time for the work.
 */
export const safetyMarginMs = (remainingMs: number): number => Math.min(2_000, Math.max(250, remainingMs / 10));

export interface BatchOutcome extends BatchCounts {
  response: KinesisStreamBatchResponse;
  /** AWS calls made, by API. */
  calls: Record<string, number>;
}

/** The records of a Lambda Kinesis event as the core sees them. */
export function toInputRecords(event: KinesisStreamEvent): InputRecord[] {
  // A batch is one shard's records: one shard id string for all of them (kept until every sink is
  // done) rather than one cut from each record's eventID.
  let shardId = '';
  return event.Records.map((r) => {
    const colon = r.eventID.indexOf(':') >>> 0;
    if (colon !== shardId.length || !r.eventID.startsWith(shardId)) shardId = copyOf(r.eventID.slice(0, colon));
    return toInputRecord(r, shardId);
  });
}

/**
 * A string of its own with the characters of `s`. V8 keeps a cut of a long string as a view of it,
 * which keeps the whole eventID alive and is compared on a slow path: with a copy, the check of
 * each record's eventID against the shard id takes half the time (toInputRecords 41-62 ns a
 * record, was 76-80; measured with a scratch script on the benchmark's events). JSON gives back
 * exactly the string it is given, whatever its characters.
 */
const copyOf = (s: string): string => JSON.parse(JSON.stringify(s)) as string;

/** One record of a Lambda Kinesis event as the core sees it. */
const toInputRecord = (r: KinesisStreamEvent['Records'][number], shardId: string): InputRecord => ({
  sequenceNumber: r.kinesis.sequenceNumber,
  partitionKey: r.kinesis.partitionKey,
  data: r.kinesis.data,
  approximateArrivalMs: Math.round(r.kinesis.approximateArrivalTimestamp * 1000),
  shardId,
  // Set by validation; declared here so that setting it does not reshape every record.
  receivedAtMs: undefined,
});

/**
 * One batch: analyse, run every sink at once, report the union of their failures for retry, write
 * the metrics. Never throws for bad data or AWS failures: those become quarantine or retries.
 */
export async function processBatch(
  event: KinesisStreamEvent,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  deps: HandlerDeps,
): Promise<BatchOutcome> {
  const now = deps.now ?? Date.now;
  const write = deps.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const { config } = deps;
  const { sinks } = deps;
  const startedAt = now();
  const log = jsonLogger(write, now);
  const remainingMs = context.getRemainingTimeInMillis();
  const io: IoContext = {
    ...DEFAULT_IO,
    ...deps.io,
    deadlineMs: startedAt + remainingMs - safetyMarginMs(remainingMs),
    latency: new CallLatency(),
    now,
    sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    random: deps.random ?? Math.random,
    log,
  };
  const counter = new CallCounter();

  const records = toInputRecords(event);
  const batch = analyseBatch(records, { config, nowMs: startedAt });
  for (const q of batch.quarantined) {
    log('WARN', 'Reading quarantined', { reason: q.reason, sequence_number: q.record.sequenceNumber, shard_id: q.record.shardId });
  }

  const results = await Promise.all(sinks.map((sink) => sink(batch, { io, counter, now })));

  const retry = new Set<number>();
  for (const result of results) for (const i of result.failedRecords) retry.add(i);
  const quarantinedIndices = new Set(batch.quarantined.map((q) => q.index));
  const retriedQuarantined = [...retry].filter((i) => quarantinedIndices.has(i)).length;
  // The counts of contract/metrics.ts: the handler's own, then every sink count summed over the sinks.
  const handlerCounts: Record<HandlerCount, number> = {
    recordsIn: records.length,
    stored: records.length - batch.quarantined.length - (retry.size - retriedQuarantined),
    quarantined: batch.quarantined.length - retriedQuarantined,
    retried: retry.size,
    replayed: batch.replayed,
  };
  const sinkCounts = Object.fromEntries(SINK_COUNTS.map((key) => [key, results.reduce((n, r) => n + (r.counts?.[key] ?? 0), 0)])) as Record<SinkCount, number>;
  const counts: BatchCounts = { ...handlerCounts, ...sinkCounts };
  const outcome: BatchOutcome = {
    response: { batchItemFailures: [...retry].sort((a, b) => a - b).map((i) => ({ itemIdentifier: records[i]!.sequenceNumber })) },
    ...counts,
    calls: counter.counts,
  };
  const latencies = {
    endToEndMs: results.flatMap((r) => r.latencies?.endToEndMs ?? []),
    alertMs: results.flatMap((r) => r.latencies?.alertMs ?? []),
  };
  for (const line of emfDocuments(config.metricsNamespace, startedAt, outcome, latencies, batch.zones)) write(line);
  return outcome;
}
