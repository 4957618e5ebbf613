/**
 * Rollups aligned to fixed windows of reading time: every reading of a sensor belongs to exactly
 * one window (its timestamp rounded down to a multiple of the window), and a window's aggregate
 * is a function of the set of its readings alone. A reading is identified by its sensor and its
 * time, kept as its offset into the window, so adding readings to an aggregate skips those it
 * already holds, and any delivery schedule (replays, resumes, bisections, overlapping attempts)
 * ends in the aggregate of one clean delivery. Measurements are kept in thousandths (integers), so
 * sums are exact whatever the order the readings are added in. Pure.
 *
 * The batch analysis files a batch's readings by sensor and window (core/batch.ts), without an
 * aggregate of their own; the readings sink folds them straight into what the container knows the
 * window holds and writes the item of that (adapters/window-store.ts appendWrite), without copying
 * what the window already holds, so a window's cost grows with its new readings, not with all of
 * them; readings that cannot be folded as they come (`foldable`) take the general path (`windowOf`,
 * `addWindow`).
 */
import { ROLLUP_FIELDS, type RolledUpField } from '../../../contract';
import { levelRank, type EnrichedReading, type Level } from './types';

/** The value of the newest reading of the window, for each field a rollup keeps the last of (a reading is one). */
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
const STAT_FIELDS = WINDOW_STATS.map((s) => s.field);

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
  /**
   * WINDOW_STATS[i]'s sum, minimum and maximum (thousandths) over the readings that had the field,
   * and how many had it, at STAT_FIELDS_AT * i + SUM, MIN, MAX and COUNT (`sumOf` … `countOf`): one
   * array for the window rather than four (sums, minima, maxima, counts). A window the container
   * knows lives in the old generation, and every write of it reads and adds to these: each object
   * of it one more cache miss.
   */
  stats: number[];
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

/** Whether a sorted array holds a value (binary search: offsets are ascending). */
export function holds(sorted: readonly number[], value: number): boolean {
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

const NO_LAST: LastValues = { timestamp: '', zone_id: '', traffic_flow_score: 0, congestion_level: 'NORMAL' };

/** Where a statistic's sum, minimum, maximum and count are among its STAT_FIELDS_AT values in `stats`. */
export const SUM = 0;
export const MIN = 1;
export const MAX = 2;
export const COUNT = 3;
export const STAT_FIELDS_AT = 4;
export const sumOf = (a: WindowAggregate, i: number): number => a.stats[STAT_FIELDS_AT * i + SUM]!;
export const minOf = (a: WindowAggregate, i: number): number => a.stats[STAT_FIELDS_AT * i + MIN]!;
export const maxOf = (a: WindowAggregate, i: number): number => a.stats[STAT_FIELDS_AT * i + MAX]!;
export const countOf = (a: WindowAggregate, i: number): number => a.stats[STAT_FIELDS_AT * i + COUNT]!;

/** Zeros for every statistic, copied for each new window (a packed array, cheaper to copy than to build). */
const ZEROS: readonly number[] = new Array<number>(STAT_COUNT * STAT_FIELDS_AT).fill(0);

/** An empty window. */
export const emptyWindow = (sensorId: string, windowStartMs: number): WindowAggregate => ({
  sensorId,
  windowStartMs,
  offsets: [],
  firstMs: Number.POSITIVE_INFINITY,
  firstTimestamp: '',
  lastMs: Number.NEGATIVE_INFINITY,
  last: NO_LAST,
  stats: ZEROS.slice(),
  flowSum: 0,
  maxLevel: 'NORMAL',
  receivedAtMax: 0,
});

/** The newest offset a window holds (-1: none). */
export const newestOffset = (a: WindowAggregate): number => (a.offsets.length > 0 ? a.offsets[a.offsets.length - 1]! : -1);

/**
 * Folds one reading into an aggregate. The caller knows the reading is not held yet; readings
 * after everything held keep the offsets ascending (the usual case), others are sorted in.
 */
export function addReading(a: WindowAggregate, r: EnrichedReading): void {
  const offset = r.timestampMs - a.windowStartMs;
  if (offset > newestOffset(a)) a.offsets.push(offset);
  else a.offsets.splice(lowerBound(a.offsets, offset), 0, offset);
  if (r.timestampMs < a.firstMs) {
    a.firstMs = r.timestampMs;
    a.firstTimestamp = r.timestamp;
  }
  if (r.timestampMs > a.lastMs) {
    a.lastMs = r.timestampMs;
    a.last = r;
  }
  for (let i = 0; i < STAT_COUNT; i++) {
    const value = r[STAT_FIELDS[i]!];
    if (typeof value !== 'number') continue;
    const v = milli(value);
    const stat = WINDOW_STATS[i]!;
    const at = STAT_FIELDS_AT * i;
    const stats = a.stats;
    const n = stats[at + COUNT]!;
    if (stat.sum) stats[at + SUM] = stats[at + SUM]! + v;
    if (stat.min && (n === 0 || v < stats[at + MIN]!)) stats[at + MIN] = v;
    if (stat.max && (n === 0 || v > stats[at + MAX]!)) stats[at + MAX] = v;
    stats[at + COUNT] = n + 1;
  }
  a.flowSum += milli(r.traffic_flow_score);
  if (levelRank(r.congestion_level) > levelRank(a.maxLevel)) a.maxLevel = r.congestion_level;
  if (r.received_at > a.receivedAtMax) a.receivedAtMax = r.received_at;
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Whether `readings` can be folded into a window holding `held` (ascending offsets) as they come:
 * each strictly after the one before and after everything held (the usual case: Kinesis keeps a
 * sensor's order, and a batch brings readings newer than those before it).
 */
export function foldable(readings: readonly EnrichedReading[], windowStartMs: number, held: readonly number[] = []): boolean {
  let previous = held.length > 0 ? windowStartMs + held[held.length - 1]! : Number.NEGATIVE_INFINITY;
  for (const r of readings) {
    if (r.timestampMs <= previous) return false;
    previous = r.timestampMs;
  }
  return true;
}

/**
 * The aggregate of the readings (of one sensor and window) that `held` (ascending offsets) does not
 * hold, each reading once (the first of two with the same time). Readings that are `foldable` are
 * folded as they come; others (out of order, twice in a batch, or already partly held: a replay, an
 * overlapping delivery) are sorted and deduplicated first.
 */
export function windowOf(sensorId: string, windowStartMs: number, readings: readonly EnrichedReading[], held: readonly number[] = []): WindowAggregate {
  if (!foldable(readings, windowStartMs, held)) return sortedWindowOf(sensorId, windowStartMs, readings, held);
  const a = emptyWindow(sensorId, windowStartMs);
  for (const r of readings) addReading(a, r);
  return a;
}

/** windowOf's general path: the readings sorted (stably), each reading time once (the first), none that `held` holds. */
export function sortedWindowOf(sensorId: string, windowStartMs: number, readings: readonly EnrichedReading[], held: readonly number[] = []): WindowAggregate {
  const a = emptyWindow(sensorId, windowStartMs);
  const seen = new Set<number>();
  for (const r of [...readings].sort((x, y) => x.timestampMs - y.timestampMs)) {
    const offset = r.timestampMs - windowStartMs;
    if (seen.has(offset) || holds(held, offset)) continue;
    seen.add(offset);
    addReading(a, r);
  }
  return a;
}

/** Adds `more` (readings `into` does not hold) to `into`, in place: what a successful write makes the window. */
export function addWindow(into: WindowAggregate, more: WindowAggregate): WindowAggregate {
  if (more.offsets.length === 0) return into;
  if (more.offsets[0]! > newestOffset(into)) into.offsets.push(...more.offsets);
  else into.offsets = mergeSorted(into.offsets, more.offsets);
  if (more.firstMs < into.firstMs) {
    into.firstMs = more.firstMs;
    into.firstTimestamp = more.firstTimestamp;
  }
  if (more.lastMs > into.lastMs) {
    into.lastMs = more.lastMs;
    into.last = more.last;
  }
  for (let i = 0; i < STAT_COUNT; i++) {
    const n = countOf(more, i);
    if (n === 0) continue;
    const had = countOf(into, i);
    const at = STAT_FIELDS_AT * i;
    into.stats[at + SUM] = sumOf(into, i) + sumOf(more, i);
    into.stats[at + MIN] = had === 0 ? minOf(more, i) : Math.min(minOf(into, i), minOf(more, i));
    into.stats[at + MAX] = had === 0 ? maxOf(more, i) : Math.max(maxOf(into, i), maxOf(more, i));
    into.stats[at + COUNT] = had + n;
  }
  into.flowSum += more.flowSum;
  if (levelRank(more.maxLevel) > levelRank(into.maxLevel)) into.maxLevel = more.maxLevel;
  if (more.receivedAtMax > into.receivedAtMax) into.receivedAtMax = more.receivedAtMax;
  return into;
}

function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/** A copy of an aggregate (offsets and statistics its own). */
export const copyWindow = (a: WindowAggregate): WindowAggregate => ({
  ...a,
  offsets: a.offsets.slice(),
  stats: a.stats.slice(),
});

/** How many readings the window holds. */
export const readingCount = (a: WindowAggregate): number => a.offsets.length;
