/**
 * What the processor counts in each batch, declared once: the metric each count is published as
 * (Embedded Metric Format, Service dimension, one value per invocation), who counts it (the handler
 * itself, or the sinks, summed over their results), and whether the dashboard graphs it. The
 * sinks' `counts`, the batch outcome, the EMF document, METRIC and the dashboard's rows derive
 * from this table (tests/unit/contract/metrics.test.ts); a new count from a sink is one entry here.
 */

export interface CountSpec {
  /** The metric it is published as. */
  metric: string;
  /** `handler`: the handler counts it (handler.ts `handlerCounts`); `sinks`: each sink may report it, and they are summed. */
  from: 'handler' | 'sinks';
  /** A row of the dashboard's "Records through the processor" graph (in this table's order). */
  dashboard: boolean;
}

/** Every count of a batch, in the order of the dashboard's rows and the metrics document. */
export const BATCH_COUNTS = {
  recordsIn: { metric: 'RecordsIn', from: 'handler', dashboard: true },
  stored: { metric: 'RecordsStored', from: 'handler', dashboard: true },
  quarantined: { metric: 'RecordsQuarantined', from: 'handler', dashboard: true },
  retried: { metric: 'RecordsRetried', from: 'handler', dashboard: true },
  itemsWritten: { metric: 'ItemsWritten', from: 'sinks', dashboard: true },
  alertsPublished: { metric: 'AlertsPublished', from: 'sinks', dashboard: true },
  /** Records put back on the stream (a redrive): stored, but left out of the latency SLOs. */
  replayed: { metric: 'RecordsReplayed', from: 'handler', dashboard: true },
  /** Readings that could not move the alert state: not newer than what it (or the readings table) has seen. */
  alertsStale: { metric: 'AlertsStale', from: 'sinks', dashboard: true },
  /** Transitions held back by the cooldown (in the metrics, for tuning AlertCooldownSeconds). */
  alertsSuppressed: { metric: 'AlertsSuppressed', from: 'sinks', dashboard: false },
  /** Firehose records (each a batch's readings, newline-delimited) the raw-data lake took. */
  rawRecordsDelivered: { metric: 'RawRecordsDelivered', from: 'sinks', dashboard: false },
  /** Firehose records given up on (retries exhausted): their readings are reported for retry (alarm raw-data-delivery-failures). */
  rawDeliveryFailures: { metric: 'RawDeliveryFailures', from: 'sinks', dashboard: false },
  /** Writes of the console's sensor-status items given up on (the next batch writes those sensors again). */
  statusWriteFailures: { metric: 'SensorStatusWriteFailures', from: 'sinks', dashboard: false },
} as const satisfies Record<string, CountSpec>;

export type BatchCount = keyof typeof BATCH_COUNTS;
/** What one batch did, counted: the handler's outcome and the metrics carry the same numbers. */
export type BatchCounts = Record<BatchCount, number>;
/** The counts the handler makes itself. */
export type HandlerCount = { [K in BatchCount]: (typeof BATCH_COUNTS)[K]['from'] extends 'handler' ? K : never }[BatchCount];
/** The counts a sink contributes (summed over the sinks). */
export type SinkCount = Exclude<BatchCount, HandlerCount>;

/** The metric name of every count, by the count's key. */
export const COUNT_METRICS = Object.fromEntries(Object.entries(BATCH_COUNTS).map(([key, spec]) => [key, spec.metric])) as {
  [K in BatchCount]: (typeof BATCH_COUNTS)[K]['metric'];
};

/** The keys of the counts the sinks contribute. */
export const SINK_COUNTS = (Object.keys(BATCH_COUNTS) as BatchCount[]).filter((k): k is SinkCount => BATCH_COUNTS[k].from === 'sinks');
