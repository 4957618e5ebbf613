/**
 * A processor output. Every sink takes the analysed batch and answers which input records it
 * could not handle in time (the handler reports their union for retry), what it counted, and the
 * latency samples it measured. A new output is its declaration in contract/outputs.ts, one sink
 * file and its entry in outputs.ts.
 */
import type { CallCounter, IoContext } from '../io';
import type { AnalysedBatch } from '../core/batch';
import type { BatchCounts, SinkCount } from '../../../contract';

/** The counts a sink contributes (contract/metrics.ts BATCH_COUNTS, `from: 'sinks'`; the handler counts records itself). */
export type { SinkCount };

export interface SinkContext {
  io: IoContext;
  counter: CallCounter;
  /** Epoch ms. */
  now: () => number;
}

export interface SinkResult {
  /** Positions (into batch.records) of the records to report for retry. */
  failedRecords: Iterable<number>;
  counts?: Partial<Pick<BatchCounts, SinkCount>>;
  /** Latencies measured, in ms: reading received → stored, and → alert published. */
  latencies?: { endToEndMs?: number[]; alertMs?: number[] };
}

export type Sink = (batch: AnalysedBatch, context: SinkContext) => Promise<SinkResult>;
