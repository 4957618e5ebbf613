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
  /** Per field, over the readings that have it, the aggregates contract/reading.ts declares (in thousandths), and how many had it. */
  sums: Partial<Record<RolledUpField, number>>;
  mins: Partial<Record<RolledUpField, number>>;
  maxs: Partial<Record<RolledUpField, number>>;
  counts: Partial<Record<RolledUpField, number>>;
  flowSum: number;
  maxLevel: Level;
  receivedAtMax: number;
}

/** Fields with a running statistic, and the fields whose last value is kept. */
const STAT_FIELDS = ROLLUP_FIELDS.filter((f) => f.aggregates.some((a) => a !== 'last')).map((f) => ({
  name: f.name,
  sum: f.aggregates.includes('sum') || f.aggregates.includes('mean'),
  min: f.aggregates.includes('min'),
  max: f.aggregates.includes('max'),
}));
const LAST_FIELDS = ROLLUP_FIELDS.filter((f) => f.aggregates.includes('last')).map((f) => f.name);

/** Thousandths, rounded: the precision rollups keep (the raw lake keeps every digit). */
export const milli = (value: number): number => Math.round(value * 1000);

/** The start (epoch ms) of the window a time falls in. */
export const windowStart = (timeMs: number, windowSeconds: number): number => {
  const size = windowSeconds * 1000;
  return Math.floor(timeMs / size) * size;
};

/** A sensor's readings of a batch, split by window (windows in time order, readings in time order). */
export function byWindow(readings: readonly EnrichedReading[], windowSeconds: number): { windowStartMs: number; readings: EnrichedReading[] }[] {
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
  const held = new Set(known?.offsets ?? []);
  const added: EnrichedReading[] = [];
  for (const r of readings) {
    const offset = r.timestampMs - windowStartMs;
    if (held.has(offset)) continue;
    held.add(offset);
    added.push(r);
  }
  if (known && added.length === 0) return { aggregate: known, added };
  const a: WindowAggregate = known
    ? {
        ...known,
        sums: { ...known.sums },
        mins: { ...known.mins },
        maxs: { ...known.maxs },
        counts: { ...known.counts },
      }
    : {
        sensorId,
        windowStartMs,
        offsets: [],
        firstMs: Number.POSITIVE_INFINITY,
        firstTimestamp: '',
        lastMs: Number.NEGATIVE_INFINITY,
        last: lastValues(added[0]!),
        sums: {},
        mins: {},
        maxs: {},
        counts: {},
        flowSum: 0,
        maxLevel: 'NORMAL',
        receivedAtMax: 0,
      };
  for (const r of added) {
    if (r.timestampMs < a.firstMs) {
      a.firstMs = r.timestampMs;
      a.firstTimestamp = r.timestamp;
    }
    if (r.timestampMs > a.lastMs) {
      a.lastMs = r.timestampMs;
      a.last = lastValues(r);
    }
    for (const { name, sum, min, max } of STAT_FIELDS) {
      const value = r[name];
      if (typeof value !== 'number') continue;
      const v = milli(value);
      const n = a.counts[name] ?? 0;
      if (sum) a.sums[name] = (a.sums[name] ?? 0) + v;
      if (min) a.mins[name] = n === 0 ? v : Math.min(a.mins[name]!, v);
      if (max) a.maxs[name] = n === 0 ? v : Math.max(a.maxs[name]!, v);
      a.counts[name] = n + 1;
    }
    a.flowSum += milli(r.traffic_flow_score);
    if (levelRank(r.congestion_level) > levelRank(a.maxLevel)) a.maxLevel = r.congestion_level;
    if (r.received_at > a.receivedAtMax) a.receivedAtMax = r.received_at;
  }
  a.offsets = [...held].sort((x, y) => x - y);
  return { aggregate: a, added };
}

/** How many readings the window holds. */
export const readingCount = (a: WindowAggregate): number => a.offsets.length;
