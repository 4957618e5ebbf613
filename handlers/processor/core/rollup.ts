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
  /** STATS, in order: sums (for sum and mean), minima and maxima; NaN while no reading had the field. */
  stats: number[];
  /** How many readings had each STATS field (optional fields may be absent). */
  statCounts: number[];
  /** Derived values: the flow score's sum, the highest level reached. */
  flowSum: number;
  maxLevel: Level;
  receivedAtMax: number;
}

const numeric = (reading: EnrichedReading, field: RolledUpField): number | undefined => reading[field] as number | undefined;

/** A rollup of one reading: its statistics are that reading's values. */
export function startRollup(reading: EnrichedReading, index: number): Rollup {
  const stats = new Array<number>(STAT_COUNT);
  const statCounts = new Array<number>(STAT_COUNT);
  for (let i = 0; i < STAT_COUNT; i++) {
    const value = numeric(reading, STAT_FIELD[i]!);
    stats[i] = value ?? Number.NaN;
    statCounts[i] = value === undefined ? 0 : 1;
  }
  return {
    sensorId: reading.sensor_id,
    zoneId: reading.zone_id,
    readings: [reading],
    recordIndices: [index],
    first: reading,
    last: reading,
    stats,
    statCounts,
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
  const { stats, statCounts } = rollup;
  for (let i = 0; i < STAT_COUNT; i++) {
    const value = numeric(reading, STAT_FIELD[i]!);
    if (value === undefined) continue;
    const current = stats[i]!;
    const kind = STAT_KIND[i];
    if (statCounts[i]!++ === 0) stats[i] = value;
    else if (kind === 0) stats[i] = current + value;
    else if (kind === 1 ? value < current : value > current) stats[i] = value;
  }
  rollup.flowSum += reading.traffic_flow_score;
  if (levelRank(reading.congestion_level) > levelRank(rollup.maxLevel)) rollup.maxLevel = reading.congestion_level;
  if (reading.received_at > rollup.receivedAtMax) rollup.receivedAtMax = reading.received_at;
}

/**
 * The value of an aggregate over the rollup's readings that have the field (a mean is their sum
 * over their count); undefined when none has it.
 */
export function aggregateValue(rollup: Rollup, field: RolledUpField, aggregate: Aggregate): number | string | undefined {
  if (aggregate === 'last') return rollup.last[field];
  const i = statIndex(field, aggregate);
  const count = rollup.statCounts[i]!;
  if (count === 0) return undefined;
  return aggregate === 'mean' ? rollup.stats[i]! / count : rollup.stats[i];
}
