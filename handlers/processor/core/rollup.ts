/**
 * Per-sensor rollups: all readings of one sensor in one batch become one rollup, whose running
 * statistics are the aggregates contract/reading.ts declares per field (ROLLUP_FIELDS). Pure: the
 * readings sink turns a rollup into its DynamoDB item.
 */
import { ROLLUP_FIELDS, type Aggregate, type RolledUpField } from '../../../contract';
import { levelRank, type EnrichedReading, type Level } from './types';

/** One running statistic of a rollup: a field and the aggregate kept of it ('last' needs none). */
export interface RollupStat {
  field: RolledUpField;
  aggregate: Exclude<Aggregate, 'last'>;
}

/** The running statistics every rollup keeps, in a fixed order (rollup.stats[i] is STATS[i]). */
export const STATS: readonly RollupStat[] = ROLLUP_FIELDS.flatMap(({ name, aggregates }) =>
  aggregates.filter((a): a is RollupStat['aggregate'] => a !== 'last').map((aggregate) => ({ field: name, aggregate })),
);
const STAT_COUNT = STATS.length;
const STAT_FIELD = STATS.map((s) => s.field);
/** 0: add (sum, mean), 1: keep the minimum, 2: keep the maximum. */
const STAT_KIND = STATS.map((s) => (s.aggregate === 'min' ? 1 : s.aggregate === 'max' ? 2 : 0));

/** Index of a statistic in `rollup.stats`. */
export const statIndex = (field: RolledUpField, aggregate: RollupStat['aggregate']): number =>
  STATS.findIndex((s) => s.field === field && s.aggregate === aggregate);

/** One sensor's readings of a batch, with the running statistics of its item. */
export interface Rollup {
  sensorId: string;
  /** The zone of the latest reading (a sensor that moved zones is filed under the latest). */
  zoneId: string;
  /** Readings in time order (ties keep arrival order). */
  readings: EnrichedReading[];
  /** Indices of the input records that make up this rollup, to report them if a write fails. */
  recordIndices: number[];
  first: EnrichedReading;
  last: EnrichedReading;
  /** STATS, in order: sums (for sum and mean), minima and maxima. */
  stats: number[];
  /** Derived values: the flow score's sum, the highest level reached. */
  flowSum: number;
  maxLevel: Level;
  receivedAtMax: number;
}

const numeric = (reading: EnrichedReading, field: RolledUpField): number => reading[field] as number;

/** A rollup of one reading: its statistics are that reading's values. */
export function startRollup(reading: EnrichedReading, index: number): Rollup {
  const stats = new Array<number>(STAT_COUNT);
  for (let i = 0; i < STAT_COUNT; i++) stats[i] = numeric(reading, STAT_FIELD[i]!);
  return {
    sensorId: reading.sensor_id,
    zoneId: reading.zone_id,
    readings: [reading],
    recordIndices: [index],
    first: reading,
    last: reading,
    stats,
    flowSum: reading.traffic_flow_score,
    maxLevel: reading.congestion_level,
    receivedAtMax: reading.received_at,
  };
}

/** Adds a reading of the same sensor; statistics are kept as readings arrive (one pass). */
export function addToRollup(rollup: Rollup, reading: EnrichedReading, index: number): void {
  const ordered = reading.timestampMs >= rollup.last.timestampMs;
  rollup.readings.push(reading);
  rollup.recordIndices.push(index);
  if (ordered) {
    rollup.last = reading;
    rollup.zoneId = reading.zone_id;
  } else {
    if (reading.timestampMs < rollup.first.timestampMs) rollup.first = reading;
    // Out of order (rare: Kinesis keeps a partition key's order): restore time order.
    rollup.readings.sort((a, b) => a.timestampMs - b.timestampMs);
  }
  const stats = rollup.stats;
  for (let i = 0; i < STAT_COUNT; i++) {
    const value = numeric(reading, STAT_FIELD[i]!);
    const kind = STAT_KIND[i];
    if (kind === 0) stats[i] = stats[i]! + value;
    else if (kind === 1 ? value < stats[i]! : value > stats[i]!) stats[i] = value;
  }
  rollup.flowSum += reading.traffic_flow_score;
  if (levelRank(reading.congestion_level) > levelRank(rollup.maxLevel)) rollup.maxLevel = reading.congestion_level;
  if (reading.received_at > rollup.receivedAtMax) rollup.receivedAtMax = reading.received_at;
}

/** The value of an aggregate over the rollup's readings (a mean is the sum over the count). */
export function aggregateValue(rollup: Rollup, field: RolledUpField, aggregate: Aggregate): number | string | undefined {
  if (aggregate === 'last') return rollup.last[field];
  const value = rollup.stats[statIndex(field, aggregate)]!;
  return aggregate === 'mean' ? value / rollup.readings.length : value;
}
