/**
 * Rollups aligned to fixed windows of reading time: every reading of a sensor belongs to exactly
 * one window (its timestamp rounded down to a multiple of the window), and a window's aggregate
 * is a function of the set of its readings alone. Merging readings into an aggregate skips those
 * already in it (a reading is identified by its sensor and its time, kept as offsets into the
 * window), so any delivery schedule (replays, resumes, bisections, overlapping attempts) ends in
 * the aggregate of one clean delivery. Measurements are kept in thousandths (integers), so sums
 * are exact whatever the order the readings are added in. Pure.
 */
import { ROLLUP_FIELDS, type RolledUpField } from '../../../contract';
import { levelRank, type EnrichedReading, type Level } from './types';

/** The value of the newest reading of the window, for each field a rollup keeps the last of. */
export type LastValues = Partial<Record<RolledUpField, number | string>> & {
  timestamp: string;
  zone_id: string;
  traffic_flow_score: number;
  congestion_level: Level;
};

/** The running statistics of a window: the aggregates contract/reading.ts declares per field. */
export interface WindowStat {
  field: RolledUpField;
  sum: boolean;
  min: boolean;
  max: boolean;
}
export const WINDOW_STATS: readonly WindowStat[] = ROLLUP_FIELDS.filter((f) => f.aggregates.some((a) => a !== 'last')).map((f) => ({
  field: f.name,
  sum: f.aggregates.includes('sum') || f.aggregates.includes('mean'),
  min: f.aggregates.includes('min'),
  max: f.aggregates.includes('max'),
}));
const STAT_COUNT = WINDOW_STATS.length;
const LAST_FIELDS = ROLLUP_FIELDS.filter((f) => f.aggregates.includes('last')).map((f) => f.name);

/** What a window's item holds. Sums, minima and maxima in thousandths (exact integers). */
export interface WindowAggregate {
  sensorId: string;
  windowStartMs: number;
  /** Offsets (ms) into the window of every reading counted, ascending: the window's identity set. */
  offsets: number[];
  firstMs: number;
  firstTimestamp: string;
  lastMs: number;
  last: LastValues;
  /** WINDOW_STATS[i]'s sum, minimum and maximum (thousandths) over the readings that had the field, and how many had it. */
  sums: number[];
  mins: number[];
  maxs: number[];
  counts: number[];
  flowSum: number;
  maxLevel: Level;
  receivedAtMax: number;
}

/** Thousandths, rounded: the precision rollups keep (the raw lake keeps every digit). */
export const milli = (value: number): number => Math.round(value * 1000);

/** The start (epoch ms) of the window a time falls in. */
export const windowStart = (timeMs: number, windowSeconds: number): number => {
  const size = windowSeconds * 1000;
  return Math.floor(timeMs / size) * size;
};

/** A sensor's readings of a batch, split by window (windows in time order, readings in time order). */
export function byWindow(readings: readonly EnrichedReading[], windowSeconds: number): { windowStartMs: number; readings: EnrichedReading[] }[] {
  const first = windowStart(readings[0]!.timestampMs, windowSeconds);
  // Most batches hold one window of a sensor: no map needed.
  if (windowStart(readings[readings.length - 1]!.timestampMs, windowSeconds) === first && readings.every((r) => windowStart(r.timestampMs, windowSeconds) === first)) {
    return [{ windowStartMs: first, readings: readings as EnrichedReading[] }];
  }
  const windows = new Map<number, EnrichedReading[]>();
  for (const r of readings) {
    const start = windowStart(r.timestampMs, windowSeconds);
    const list = windows.get(start);
    if (list) list.push(r);
    else windows.set(start, [r]);
  }
  return [...windows].sort((a, b) => a[0] - b[0]).map(([windowStartMs, list]) => ({ windowStartMs, readings: list }));
}

const lastValues = (r: EnrichedReading): LastValues => {
  const values: LastValues = {
    timestamp: r.timestamp,
    zone_id: r.zone_id,
    traffic_flow_score: r.traffic_flow_score,
    congestion_level: r.congestion_level,
  };
  for (const f of LAST_FIELDS) if (r[f] !== undefined) values[f] = r[f];
  return values;
};

/** Whether a sorted array holds a value (binary search: offsets are ascending). */
function holds(sorted: readonly number[], value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** An empty window. */
export const emptyWindow = (sensorId: string, windowStartMs: number, first: EnrichedReading | undefined): WindowAggregate => ({
  sensorId,
  windowStartMs,
  offsets: [],
  firstMs: Number.POSITIVE_INFINITY,
  firstTimestamp: '',
  lastMs: Number.NEGATIVE_INFINITY,
  last: first ? lastValues(first) : { timestamp: '', zone_id: '', traffic_flow_score: 0, congestion_level: 'NORMAL' },
  sums: new Array<number>(STAT_COUNT).fill(0),
  mins: new Array<number>(STAT_COUNT).fill(0),
  maxs: new Array<number>(STAT_COUNT).fill(0),
  counts: new Array<number>(STAT_COUNT).fill(0),
  flowSum: 0,
  maxLevel: 'NORMAL',
  receivedAtMax: 0,
});

/**
 * Adds to `known` (undefined: an empty window) the readings it does not hold yet. Answers the new
 * aggregate (a copy: `known` is not changed) and the readings that were added; none added means
 * the window already held them all (a replay).
 */
export function mergeIntoWindow(
  sensorId: string,
  windowStartMs: number,
  known: WindowAggregate | undefined,
  readings: readonly EnrichedReading[],
): { aggregate: WindowAggregate; added: EnrichedReading[] } {
  const held = known?.offsets ?? [];
  const newest = held.length > 0 ? held[held.length - 1]! : -1;
  const added: EnrichedReading[] = [];
  let inOrder = true;
  let previous = newest;
  for (const r of readings) {
    const offset = r.timestampMs - windowStartMs;
    // Readings after everything held are new (the usual case); others are looked up.
    if (offset <= newest && holds(held, offset)) continue;
    if (offset <= previous) {
      // Out of order, or twice in this batch.
      if (added.some((x) => x.timestampMs === r.timestampMs)) continue;
      inOrder = false;
    }
    previous = Math.max(previous, offset);
    added.push(r);
  }
  if (known && added.length === 0) return { aggregate: known, added };
  const base = known ?? emptyWindow(sensorId, windowStartMs, added[0]!);
  const a: WindowAggregate = {
    ...base,
    sums: base.sums.slice(),
    mins: base.mins.slice(),
    maxs: base.maxs.slice(),
    counts: base.counts.slice(),
  };
  const offsets = held.slice();
  for (const r of added) {
    offsets.push(r.timestampMs - windowStartMs);
    if (r.timestampMs < a.firstMs) {
      a.firstMs = r.timestampMs;
      a.firstTimestamp = r.timestamp;
    }
    if (r.timestampMs > a.lastMs) {
      a.lastMs = r.timestampMs;
      a.last = lastValues(r);
    }
    for (let i = 0; i < STAT_COUNT; i++) {
      const stat = WINDOW_STATS[i]!;
      const value = r[stat.field];
      if (typeof value !== 'number') continue;
      const v = milli(value);
      const n = a.counts[i]!;
      if (stat.sum) a.sums[i] = a.sums[i]! + v;
      if (stat.min) a.mins[i] = n === 0 || v < a.mins[i]! ? v : a.mins[i]!;
      if (stat.max) a.maxs[i] = n === 0 || v > a.maxs[i]! ? v : a.maxs[i]!;
      a.counts[i] = n + 1;
    }
    a.flowSum += milli(r.traffic_flow_score);
    if (levelRank(r.congestion_level) > levelRank(a.maxLevel)) a.maxLevel = r.congestion_level;
    if (r.received_at > a.receivedAtMax) a.receivedAtMax = r.received_at;
  }
  if (!inOrder || (held.length > 0 && offsets[held.length]! < newest)) offsets.sort((x, y) => x - y);
  a.offsets = offsets;
  return { aggregate: a, added };
}

/** How many readings the window holds. */
export const readingCount = (a: WindowAggregate): number => a.offsets.length;
