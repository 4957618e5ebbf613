import { DEFAULTS } from '../config';

/** Design assumptions of the model, each with why. */
export const ASSUMPTIONS = {
  /** A reading in the brief's format, as a sensor publishes it and as the lake stores it (with received_at). */
  readingBytes: 300,
  /**
   * The topic rule's Kinesis record of a reading (contract RULE_RECORD): the reading base64-encoded
   * (4/3 of it) beside the receive time and the registry zone, ~80 bytes of JSON.
   */
  streamRecordBytes: 480,
  /** A full 60 s window item at 1 Hz (757 bytes with its offsets packed; tests/unit/handlers/processor/adapters/window-store.test.ts holds it under this). */
  itemBytes: 900,
  /** Each further reading in a window adds its offset to reading_offsets_ms, packed (a varint of the distance from the one before: 2 bytes at 1 Hz). */
  offsetBytesPerReading: 2,
  /** Headroom on shards, concurrency and on-demand warm throughput. */
  headroom: 1.2,
  concurrencyHeadroom: 1.25,
  /**
   * The zone index must hold a hot zone even with no rollup (BatchingWindowSeconds 0), five times
   * over (catch-up after an outage delivers several windows at once).
   */
  zoneIndexSafetyFactor: 5,
  /** Peak alert rate: one sensor in five changes level (up or down) in an hour. */
  transitionsPerSensorHour: 0.2,
  /** The seed raised an alert for every reading above the threshold: one reading in ten at rush hour. */
  elevatedReadingShare: 0.1,
  /**
   * Processor time per invocation: the I/O of one batch (window merges 128 in flight, one
   * Firehose call, the alert state) plus compute per record (npm run bench, production batch
   * shape: ~5.8 µs per record on this project's 2-core CI machine).
   */
  invocationFixedMs: 150,
  computeMsPerRecord: 0.006,
  /** The seed's Python processor: BatchSize 100, one PutItem per reading (~2 ms each, sequential). */
  seedBatchSize: 100,
  seedMsPerRecord: 2,
  /** Parquet with Snappy against the JSON readings. */
  parquetCompressionRatio: 8,
  /** EMF: one document per invocation and one per zone in the batch; bytes per line. */
  emfLineBytes: 350,
  /**
   * Sensor health: the detector runs once a minute, ~1.1 s for 50,000 sensors with 10 ms per call
   * (npx tsx scripts/bench/detector.bench.ts; 2 s assumed), at 512 MB; it scans the health table (~180
   * bytes per sensor) and queries the zone index for the last SilentSensorPeriods windows (~70
   * bytes per key), both eventually consistent (0.5 read unit per 4 KB).
   */
  detectorRunsPerMinute: 1,
  detectorSeconds: 2,
  detectorMemoryGb: 0.5,
  healthItemBytes: 180,
  indexEntryBytes: 70,
  /** KMS: data keys are cached by each service; about one request per shard lane per 5 minutes, plus queues and tables. */
  kmsRequestsPerLanePerHour: 12,
  /** Full fleet reconnect (after a network outage) should complete within this many seconds. */
  reconnectTargetSeconds: 300,
  secondsPerMonth: 30 * 24 * 3_600,
} as const;

/** The template's default parameters: the deployment the model sizes and prices. */
export const DEFAULT_PARAMETERS = DEFAULTS.parameters;
/** Seconds in a billing month. */
export const SECONDS_PER_MONTH = ASSUMPTIONS.secondsPerMonth;
