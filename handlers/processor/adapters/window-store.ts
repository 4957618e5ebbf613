/**
 * The readings table's window items (the persistence layer of the readings sink; the window
 * aggregate itself is pure, in core/window.ts). It owns the item's layout: keys, zone index shard,
 * aggregates as `<field>_<aggregate>` (a mean as its sum and count: contract windowMean), the
 * readings' offsets (compact: varint deltas, `packOffsets`), TTL; and every AWS call on it.
 *
 * A window's write is a Put of its whole item, conditioned on what the writer knows the stored
 * item holds: its reading count (which only grows), or its absence. What the store last wrote is
 * kept per container (the aggregate, and its offsets packed as stored), so in the steady state a
 * window costs its share of one call and no read, and building its item costs the same whatever
 * the window holds: the batch's offsets are appended to the packed bytes, not all encoded again.
 * A window the container does not know is written as new, and read only if it exists: its write's
 * failed condition answers the stored item.
 * Writes go out 100 per call (adapters/conditional-writes.ts). Two attempts on the same window (a
 * retry while a timed-out attempt still runs) can never overwrite each other: the loser gets the
 * item its condition failed on and adds to that what it does not hold.
 *
 * A Put rather than an Update that sets only what changed: the same write units (an item's size),
 * and moto, where the tests and the simulator run, takes 0.3 ms for a transactional Put of a window
 * and 13 ms for an Update of it (its update-expression validator is quadratic in the clauses).
 */
import type { AttributeValue, DynamoDBClient, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { integerText, READINGS_TABLE, READING_FIELDS, ROLLUP_FIELDS, rollupCountAttribute } from '../../../contract';
import type { WindowDelta } from '../core/batch';
import type { EnrichedReading } from '../core/types';
import type { ProcessorConfig } from '../config';
import { zoneShard } from '../core/hash';
import { LEVELS, type Level } from '../core/types';
import {
  addReading,
  addWindow,
  COUNT as COUNT_AT,
  countOf,
  emptyWindow,
  foldable,
  MAX,
  maxOf,
  milli,
  MIN,
  minOf,
  newestOffset,
  readingCount,
  STAT_FIELDS_AT,
  SUM,
  sumOf,
  windowOf,
  WINDOW_STATS,
  type LastValues,
  type WindowAggregate,
} from '../core/window';
import type { CallCounter, IoContext } from '../io';
import { MAX_CONFLICTS } from '../limits';
import type { Item } from './aws-calls';
import { writeConditionally, type WriteOutcome } from './conditional-writes';

/** The settings an item depends on. */
export type ItemOptions = Pick<ProcessorConfig, 'zoneIndexShards' | 'readingTtlDays' | 'rollupWindowSeconds'>;

/** Windows remembered per container (about 2 KB each). */
export const CACHE_LIMIT = 50_000;

const PK = READINGS_TABLE.partitionKey;
const SK = READINGS_TABLE.sortKey;
const COUNT = READINGS_TABLE.countAttribute;
const OFFSETS = READINGS_TABLE.offsetsAttribute;

/**
 * Values a window's items repeat batch after batch (counts, whole vehicle counts, measurements and
 * their extremes at one decimal, as sensors send them, and their sums): one frozen attribute each,
 * made once per container and shared by every item that holds it, rather than an object and a
 * string per attribute per write. Integers up to CACHED_VALUES; values at one decimal up to
 * CACHED_TENTHS tenths (10,000.0: the sums of a 60 s window of 1 Hz speeds, congestion or flow
 * scores, which each write of the window writes anew). About 60 bytes an entry, made only as seen:
 * at most 6 MB.
 */
const CACHED_VALUES = 10_001;
const CACHED_TENTHS = 100_001;
const INTEGERS: (AttributeValue | undefined)[] = new Array(CACHED_VALUES).fill(undefined);
const TENTHS: (AttributeValue | undefined)[] = new Array(CACHED_TENTHS).fill(undefined);

const n = (value: number): AttributeValue => {
  if (value >= 0 && value < CACHED_VALUES && Number.isInteger(value)) return (INTEGERS[value] ??= Object.freeze({ N: String(value) }));
  return { N: integerText(value) };
};
const s = (value: string): AttributeValue => ({ S: value });

/** ".001" … ".999" with trailing zeros dropped, "" for 0: the fraction part of a 3-decimal number. */
const FRACTIONS = Array.from({ length: 1000 }, (_, i) => (i === 0 ? '' : `.${String(i).padStart(3, '0').replace(/0+$/, '')}`));

/**
 * A non-negative measurement rounded to 3 decimals, as a DynamoDB number. Equal to
 * String(Math.round(x * 1000) / 1000) (a property test checks it) but without the general
 * double-to-string conversion.
 */
export function fixed3(value: number): AttributeValue {
  return milliNumber(Math.round(value * 1000));
}
/** A number of thousandths as a DynamoDB number with up to 3 decimals (exact). */
export function milliNumber(thousandths: number): AttributeValue {
  if (thousandths >= 0 && thousandths % 100 === 0 && thousandths < CACHED_TENTHS * 100) {
    return (TENTHS[thousandths / 100] ??= Object.freeze(formatMilli(thousandths)));
  }
  return formatMilli(thousandths);
}
function formatMilli(thousandths: number): AttributeValue {
  const abs = Math.abs(thousandths);
  if (abs < SMALL_THOUSANDTHS) {
    // A whole part below 2^30 as a small integer (`| 0`): String() of it is V8's integer path,
    // where Math.floor's result, a double, takes the general double-to-text one (one appending
    // window write 1,570-1,600 → 1,010-1,310 ns, measured with a scratch script).
    const whole = (abs / 1000) | 0;
    return { N: (thousandths < 0 ? '-' : '') + String(whole) + FRACTIONS[abs - whole * 1000] };
  }
  const whole = Math.floor(abs / 1000);
  return { N: (thousandths < 0 ? '-' : '') + integerText(whole) + FRACTIONS[abs - whole * 1000] };
}
/** Thousandths whose whole part is a small integer (below 2^30). */
const SMALL_THOUSANDTHS = 2 ** 30 * 1000;
const toMilli = (v: AttributeValue | undefined): number | undefined => (v?.N === undefined ? undefined : Math.round(Number(v.N) * 1000));

const isLevel = (v: unknown): v is Level => (LEVELS as readonly unknown[]).includes(v);
const LEVEL_ATTRIBUTE: Record<Level, AttributeValue> = { NORMAL: { S: 'NORMAL' }, WARNING: { S: 'WARNING' }, CRITICAL: { S: 'CRITICAL' } };
/**
 * Each statistic's attributes: `<field>_sum` (a mean is kept as the sum: readers divide it by the
 * count, contract windowMean), `_min`, `_max`, and `_count` for an optional field.
 */
const STAT_ATTRIBUTES = WINDOW_STATS.map((stat) => ({
  // A required field's count is the item's reading count, written with the keys.
  count: rollupCountAttribute(stat.field) === COUNT ? undefined : rollupCountAttribute(stat.field),
  sum: stat.sum ? `${stat.field}_sum` : undefined,
  min: stat.min ? `${stat.field}_min` : undefined,
  max: stat.max ? `${stat.field}_max` : undefined,
}));
const STAT_COUNT = STAT_ATTRIBUTES.length;
const LAST_FIELDS = ROLLUP_FIELDS.filter((f) => f.aggregates.includes('last')).map((f) => f.name);
const LAST_ATTRIBUTES = LAST_FIELDS.map((f) => `${f}_last`);

/** LAST_FIELDS[j]'s column type, looked up once. */
const LAST_COLUMNS = LAST_FIELDS.map((f) => READING_FIELDS[f].column);
/**
 * Text attributes a window's last values repeat (a weather condition): one frozen attribute each,
 * shared like the numbers', up to CACHED_VALUES texts (then started again).
 */
const TEXTS = new Map<string, AttributeValue>();
const text = (value: string): AttributeValue => {
  let attribute = TEXTS.get(value);
  if (attribute === undefined) {
    if (TEXTS.size >= CACHED_VALUES) TEXTS.clear();
    attribute = Object.freeze({ S: value });
    TEXTS.set(value, attribute);
  }
  return attribute;
};
/** LAST_FIELDS[j]'s value as its attribute. */
const lastValue = (j: number, value: number | string): AttributeValue => {
  const column = LAST_COLUMNS[j];
  return column === 'string' ? text(String(value)) : column === 'double' ? milliNumber(Math.round((value as number) * 1000)) : n(value as number);
};
/** The newest reading's LAST_FIELDS values while an item is built (one array, reused: read once per field). */
const LAST_VALUES: (number | string | undefined)[] = LAST_FIELDS.map(() => undefined);

/**
 * The attributes of a window's item in one order, and which of them a window may lack: a
 * statistic's (no reading had the field) and a last value's (the newest reading did not have it).
 */
const FIXED_ATTRIBUTES = [PK, SK, COUNT, READINGS_TABLE.zoneIndexPartitionKey, 'zone_id', 'first_reading_at', READINGS_TABLE.lastReadingAttribute];
const TAIL_ATTRIBUTES = [
  'traffic_flow_score_sum',
  'traffic_flow_score_last',
  'congestion_level',
  'congestion_level_max',
  'received_at_last',
  OFFSETS,
  READINGS_TABLE.ttlAttribute,
];
const statNames = (at: (typeof STAT_ATTRIBUTES)[number]) => [at.count, at.sum, at.min, at.max].filter((x): x is string => x !== undefined);

/**
 * An item with every attribute of a window that has exactly the statistics and last values `mask`
 * says (bit i: WINDOW_STATS[i] counted; bit STAT_COUNT + j: LAST_FIELDS[j] present), each null.
 * An item is a copy of its template with the values set: a fixed shape, where adding ~28 attributes
 * one by one to an empty object makes V8 turn it into a hash table, each a hash insertion.
 */
const TEMPLATES = new Map<number, Item>();
function itemTemplate(mask: number): Item {
  let template = TEMPLATES.get(mask);
  if (template === undefined) {
    const names = [
      ...FIXED_ATTRIBUTES,
      ...STAT_ATTRIBUTES.flatMap((at, i) => (mask & (1 << i) ? statNames(at) : [])),
      ...LAST_ATTRIBUTES.filter((_, j) => mask & (1 << (STAT_ATTRIBUTES.length + j))),
      ...TAIL_ATTRIBUTES,
    ];
    // JSON.parse makes an object of fixed shape (its properties in the object itself), which a spread copies as it is.
    template = JSON.parse(JSON.stringify(Object.fromEntries(names.map((name) => [name, null])))) as Item;
    TEMPLATES.set(mask, template);
  }
  return template;
}

/**
 * The attributes of a window's item that do not change from one write of it to the next (its keys,
 * its TTL) or seldom do (its zone, its first reading): kept by the container with the window and
 * reused while they hold, so that a write builds only what changed. `count` is the reading count
 * last written: the next write's condition. `zoneId` and `firstTimestamp` are the texts of `zone`
 * and `first`, kept here so that telling whether they still hold reads this object alone (a known
 * window's objects live in the old generation, scattered: each one read is one more cache miss).
 */
export interface FixedAttributes {
  pk: AttributeValue;
  sk: AttributeValue;
  ttl: AttributeValue;
  zone: AttributeValue;
  shard: AttributeValue;
  first: AttributeValue;
  count: AttributeValue;
  zoneId: string;
  firstTimestamp: string;
}

/**
 * The item of a window and its fixed attributes, reusing those of `reuse` that still hold: in
 * `reuse` itself when `inPlace` (an appending write, whose known window is forgotten unless the
 * write succeeds), else in a new object.
 */
function buildItem(a: WindowAggregate, count: number, packed: Uint8Array, options: ItemOptions, reuse: FixedAttributes | undefined, inPlace = false): { item: Item; fixed: FixedAttributes } {
  const last = a.last;
  let mask = 0;
  for (let i = 0; i < STAT_COUNT; i++) if (countOf(a, i) > 0) mask |= 1 << i;
  for (let j = 0; j < LAST_FIELDS.length; j++) {
    const value = last[LAST_FIELDS[j]!];
    LAST_VALUES[j] = value;
    if (value !== undefined) mask |= 1 << (STAT_COUNT + j);
  }
  let fixed: FixedAttributes;
  if (reuse === undefined) {
    fixed = {
      pk: s(a.sensorId),
      sk: s(windowTimestamp(a.windowStartMs)),
      ttl: n(Math.floor(a.windowStartMs / 1000) + options.rollupWindowSeconds + options.readingTtlDays * 86_400),
      zone: s(last.zone_id),
      shard: s(zoneShard(last.zone_id, a.sensorId, options.zoneIndexShards)),
      first: s(a.firstTimestamp),
      count: n(count),
      zoneId: last.zone_id,
      firstTimestamp: a.firstTimestamp,
    };
  } else {
    // Most often the very strings of the last write (a sensor's zone string is the batch's, shared):
    // told apart by identity before their characters are read.
    const sameZone = reuse.zoneId === last.zone_id;
    const sameFirst = reuse.firstTimestamp === a.firstTimestamp;
    fixed = inPlace ? reuse : { ...reuse };
    if (!sameZone) {
      fixed.zone = s(last.zone_id);
      fixed.shard = s(zoneShard(last.zone_id, a.sensorId, options.zoneIndexShards));
      fixed.zoneId = last.zone_id;
    }
    if (!sameFirst) {
      fixed.first = s(a.firstTimestamp);
      fixed.firstTimestamp = a.firstTimestamp;
    }
    fixed.count = n(count);
  }
  const item: Item = { ...itemTemplate(mask) };
  item[PK] = fixed.pk;
  item[SK] = fixed.sk;
  item[COUNT] = fixed.count;
  item[READINGS_TABLE.zoneIndexPartitionKey] = fixed.shard;
  item.zone_id = fixed.zone;
  item.first_reading_at = fixed.first;
  item[READINGS_TABLE.lastReadingAttribute] = s(last.timestamp);
  for (let i = 0; i < STAT_COUNT; i++) {
    const had = countOf(a, i);
    if (had === 0) continue;
    const at = STAT_ATTRIBUTES[i]!;
    if (at.count) item[at.count] = n(had);
    if (at.sum) item[at.sum] = milliNumber(sumOf(a, i));
    if (at.min) item[at.min] = milliNumber(minOf(a, i));
    if (at.max) item[at.max] = milliNumber(maxOf(a, i));
  }
  for (let j = 0; j < LAST_FIELDS.length; j++) {
    const value = LAST_VALUES[j];
    if (value !== undefined) item[LAST_ATTRIBUTES[j]!] = lastValue(j, value);
  }
  item.traffic_flow_score_sum = milliNumber(a.flowSum);
  item.traffic_flow_score_last = milliNumber(milli(last.traffic_flow_score));
  item.congestion_level = LEVEL_ATTRIBUTE[last.congestion_level];
  item.congestion_level_max = LEVEL_ATTRIBUTE[a.maxLevel];
  item.received_at_last = n(a.receivedAtMax);
  item[OFFSETS] = { B: packed };
  item[READINGS_TABLE.ttlAttribute] = fixed.ttl;
  return { item, fixed };
}

/**
 * Offsets (ascending ms) as the item stores them: unsigned LEB128 varints of each offset's distance
 * from the one before (the first from 0), about two bytes a reading at 1 Hz where a number set
 * takes five or six. `after` and `packed` continue an encoding: the offsets after `after`, appended; `count`: the first `count` of `offsets` (all by default).
 */
export function packOffsets(offsets: readonly number[], packed: Uint8Array = EMPTY, after = 0, count = offsets.length): Buffer {
  const first = packed.length === 0 ? 0 : after;
  // The exact size first (one buffer, no copy or view of it afterwards). A Buffer, a slice of Node's
  // pool, rather than a Uint8Array that small, which V8 would keep in its heap: the SDK reads the
  // bytes through `.buffer` to encode them (base64), and that moves such an array out of the heap.
  let size = packed.length;
  let previous = first;
  for (let i = 0; i < count; i++) {
    const offset = offsets[i]!;
    size += varintBytes(offset - previous);
    previous = offset;
  }
  const out = Buffer.allocUnsafe(size);
  out.set(packed, 0);
  let at = packed.length;
  previous = first;
  for (let i = 0; i < count; i++) {
    const offset = offsets[i]!;
    let delta = offset - previous;
    previous = offset;
    while (delta >= 0x80) {
      out[at++] = (delta & 0x7f) | 0x80;
      delta = Math.floor(delta / 0x80);
    }
    out[at++] = delta;
  }
  return out;
}
const varintBytes = (value: number): number => (value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : Math.ceil(Math.log2(value + 1) / 7));
const EMPTY = new Uint8Array(0);

/** The offsets a packed encoding holds (packOffsets' inverse). */
export function unpackOffsets(packed: Uint8Array): number[] {
  const offsets: number[] = [];
  let value = 0;
  let scale = 1;
  let previous = 0;
  for (const byte of packed) {
    value += (byte & 0x7f) * scale;
    if (byte & 0x80) scale *= 0x80;
    else {
      previous += value;
      offsets.push(previous);
      value = 0;
      scale = 1;
    }
  }
  return offsets;
}

/** The offsets a stored item holds: packed, or a number set (items written before the offsets were packed). */
export function storedOffsets(item: Item): number[] {
  const v = item[OFFSETS];
  if (v?.B !== undefined) return unpackOffsets(v.B);
  return (v?.NS ?? []).map(Number).sort((x, y) => x - y);
}

/** The DynamoDB item of a window's aggregate (its offsets packed, or given already packed). */
export function windowItem(a: WindowAggregate, options: ItemOptions, packed: Uint8Array = packOffsets(a.offsets), count = readingCount(a)): Item {
  return buildItem(a, count, packed, options, undefined).item;
}

/** The window's sort key: its start as ISO-8601 (windows of one container repeat: kept). */
const windowTimestamp = (() => {
  const cache = new Map<number, string>();
  return (windowStartMs: number): string => {
    let text = cache.get(windowStartMs);
    if (text === undefined) {
      if (cache.size > 10_000) cache.clear();
      text = new Date(windowStartMs).toISOString();
      cache.set(windowStartMs, text);
    }
    return text;
  };
})();

/** A window's aggregate from its item (the inverse of windowItem). */
export function windowFromItem(item: Item): WindowAggregate {
  const count = Number(item[COUNT]?.N ?? 0);
  const offsets = storedOffsets(item);
  const windowStartMs = Date.parse(item[SK]!.S!);
  const lastTimestamp = item[READINGS_TABLE.lastReadingAttribute]!.S!;
  const level = item.congestion_level?.S;
  const last: LastValues = {
    timestamp: lastTimestamp,
    zone_id: item.zone_id!.S!,
    traffic_flow_score: Number(item.traffic_flow_score_last?.N ?? 0),
    congestion_level: isLevel(level) ? level : 'NORMAL',
  };
  for (const f of LAST_FIELDS) {
    const v = item[`${f}_last`];
    if (v?.S !== undefined) last[f] = v.S;
    else if (v?.N !== undefined) last[f] = Number(v.N);
  }
  const a: WindowAggregate = {
    ...emptyWindow(item[PK]!.S!, windowStartMs),
    offsets,
    firstTimestamp: item.first_reading_at!.S!,
    firstMs: Date.parse(item.first_reading_at!.S!),
    lastMs: Date.parse(lastTimestamp),
    last,
    flowSum: toMilli(item.traffic_flow_score_sum) ?? 0,
    maxLevel: isLevel(item.congestion_level_max?.S) ? (item.congestion_level_max.S as Level) : 'NORMAL',
    receivedAtMax: Number(item.received_at_last?.N ?? 0),
  };
  for (let i = 0; i < STAT_ATTRIBUTES.length; i++) {
    const at = STAT_ATTRIBUTES[i]!;
    const had = at.count ? Number(item[at.count]?.N ?? 0) : count;
    if (had === 0) continue;
    const k = STAT_FIELDS_AT * i;
    a.stats[k + COUNT_AT] = had;
    if (at.sum) a.stats[k + SUM] = toMilli(item[at.sum]) ?? 0;
    if (at.min) a.stats[k + MIN] = toMilli(item[at.min]) ?? 0;
    if (at.max) a.stats[k + MAX] = toMilli(item[at.max]) ?? 0;
  }
  return a;
}

/**
 * A window the container wrote: what it holds, its offsets as its item stores them (packed: a
 * write appends to them) and the item's fixed attributes (reused by the next write).
 */
export interface KnownWindow {
  aggregate: WindowAggregate;
  packed?: Uint8Array;
  fixed?: FixedAttributes;
}

/**
 * `stored` and `fresh` merged, for the attributes of the write, into one aggregate reused from call
 * to call (the item is built at once; the stored window itself changes only once written).
 */
const merged = (() => {
  const m = emptyWindow('', 0);
  return (stored: WindowAggregate, fresh: WindowAggregate): WindowAggregate => {
    m.sensorId = stored.sensorId;
    m.windowStartMs = stored.windowStartMs;
    const newer = fresh.lastMs > stored.lastMs ? fresh : stored;
    m.lastMs = newer.lastMs;
    m.last = newer.last;
    const older = fresh.firstMs < stored.firstMs ? fresh : stored;
    m.firstMs = older.firstMs;
    m.firstTimestamp = older.firstTimestamp;
    for (let i = 0; i < STAT_COUNT; i++) {
      const a = countOf(stored, i);
      const b = countOf(fresh, i);
      const k = STAT_FIELDS_AT * i;
      m.stats[k + COUNT_AT] = a + b;
      m.stats[k + SUM] = sumOf(stored, i) + sumOf(fresh, i);
      m.stats[k + MIN] = a === 0 ? minOf(fresh, i) : b === 0 ? minOf(stored, i) : Math.min(minOf(stored, i), minOf(fresh, i));
      m.stats[k + MAX] = a === 0 ? maxOf(fresh, i) : b === 0 ? maxOf(stored, i) : Math.max(maxOf(stored, i), maxOf(fresh, i));
    }
    m.flowSum = stored.flowSum + fresh.flowSum;
    m.maxLevel = LEVELS.indexOf(fresh.maxLevel) > LEVELS.indexOf(stored.maxLevel) ? fresh.maxLevel : stored.maxLevel;
    m.receivedAtMax = Math.max(stored.receivedAtMax, fresh.receivedAtMax);
    return m;
  };
})();

/**
 * The write of a window: the whole item of `stored` with `fresh` (readings it does not hold) added,
 * put if the stored item still holds what `stored` does (its reading count), or, for a new window
 * (`stored` undefined), if there is still none. Answers the offsets packed as written and the
 * item's fixed attributes, to keep; `known` is what the container kept of `stored`'s last write.
 */
export function windowWrite(
  tableName: string,
  stored: WindowAggregate | undefined,
  fresh: WindowAggregate,
  options: ItemOptions,
  known?: KnownWindow,
): { write: TransactWriteItem; packed: Uint8Array; fixed: FixedAttributes } {
  let packed: Uint8Array;
  let built: { item: Item; fixed: FixedAttributes };
  const reuse = known !== undefined && known.aggregate === stored ? known : undefined;
  if (stored === undefined) {
    packed = packOffsets(fresh.offsets);
    built = buildItem(fresh, readingCount(fresh), packed, options, undefined);
  } else {
    const storedPacked = reuse?.packed ?? packOffsets(stored.offsets);
    // Readings after everything stored (the usual case) are appended; others mean encoding them all again.
    packed =
      fresh.offsets[0]! > newestOffset(stored)
        ? packOffsets(fresh.offsets, storedPacked, newestOffset(stored))
        : packOffsets([...stored.offsets, ...fresh.offsets].sort((x, y) => x - y));
    built = buildItem(merged(stored, fresh), readingCount(stored) + readingCount(fresh), packed, options, reuse?.fixed);
  }
  return { write: putOf(tableName, built.item, stored && (reuse?.fixed?.count ?? n(readingCount(stored)))), packed, fixed: built.fixed };
}

/** The conditional Put of an item: on the reading count the writer knows the stored item has, or (none) on there being none. */
const putOf = (tableName: string, item: Item, knownCount: AttributeValue | undefined): TransactWriteItem => ({
  Put:
    knownCount !== undefined
      ? {
          TableName: tableName,
          Item: item,
          ConditionExpression: '#count = :known',
          ExpressionAttributeNames: COUNT_NAMES,
          // The count the last write wrote is the count this one is conditioned on.
          ExpressionAttributeValues: { ':known': knownCount },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }
      : {
          TableName: tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: PK_NAMES,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
});

/** The offsets of an appending write's readings, reused from write to write (its packed offsets are built at once). */
const APPENDED_OFFSETS: number[] = [];

/**
 * The write of a known window with `readings` appended (the steady state: readings `foldable` after
 * everything the window holds). The readings are folded straight into the known window, in place:
 * once, with no aggregate of their own and no copy of the window's. The known window thus holds
 * what the write writes before it is written: a write that does not succeed must forget the window
 * (WindowStore.addAll does, so that its next write is conditioned as new and merges into what is
 * stored). Nothing else reads the window meanwhile: a Lambda container runs one invocation at a
 * time, and addAll returns only once every write is answered or given up. The same write as
 * windowWrite(tableName, stored, windowOf(…readings), options, known) (a property test checks it);
 * `known.fixed` is updated in place as well, and `known.packed` becomes the answer's once written.
 */
export function appendWrite(
  tableName: string,
  known: KnownWindow,
  readings: readonly EnrichedReading[],
  options: ItemOptions,
): { write: TransactWriteItem; packed: Uint8Array; fixed: FixedAttributes } {
  const a = known.aggregate;
  // What the stored item holds, before the readings are added: the write's condition, and the offsets it appends to.
  const knownCount = known.fixed?.count ?? n(readingCount(a));
  const storedPacked = known.packed ?? packOffsets(a.offsets);
  const after = newestOffset(a);
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i]!;
    addReading(a, r);
    APPENDED_OFFSETS[i] = r.timestampMs - a.windowStartMs;
  }
  const packed = packOffsets(APPENDED_OFFSETS, storedPacked, after, readings.length);
  // The fixed attributes are updated in place, as the window is: both are forgotten unless the write succeeds.
  const built = buildItem(a, readingCount(a), packed, options, known.fixed, true);
  return { write: putOf(tableName, built.item, knownCount), packed, fixed: built.fixed };
}
const COUNT_NAMES = { '#count': COUNT };
const PK_NAMES = { '#pk': PK };

/**
 * Windows by sensor (a sensor has one or two at a time): a container's memory of the windows it
 * wrote. A sensor's one window is the map's value itself, a list only while it has more (a batch
 * across a window boundary): a lookup, once per window per batch, reads one object fewer of the
 * old generation.
 */
export class Windows {
  private readonly bySensor = new Map<string, KnownWindow | KnownWindow[]>();
  size = 0;
  get(sensorId: string, windowStartMs: number): KnownWindow | undefined {
    const held = this.bySensor.get(sensorId);
    if (held === undefined) return undefined;
    if (!Array.isArray(held)) return held.aggregate.windowStartMs === windowStartMs ? held : undefined;
    for (const w of held) if (w.aggregate.windowStartMs === windowStartMs) return w;
    return undefined;
  }
  set(w: KnownWindow): void {
    const { sensorId, windowStartMs } = w.aggregate;
    const held = this.bySensor.get(sensorId);
    if (held === undefined) {
      this.bySensor.set(sensorId, w);
      this.size++;
    } else if (!Array.isArray(held)) {
      if (held.aggregate.windowStartMs === windowStartMs) this.bySensor.set(sensorId, w);
      else {
        this.bySensor.set(sensorId, [held, w]);
        this.size++;
      }
    } else {
      const at = held.findIndex((x) => x.aggregate.windowStartMs === windowStartMs);
      if (at >= 0) held[at] = w;
      else {
        held.push(w);
        this.size++;
      }
    }
  }
  delete(sensorId: string, windowStartMs: number): void {
    const held = this.bySensor.get(sensorId);
    if (held === undefined) return;
    if (!Array.isArray(held)) {
      if (held.aggregate.windowStartMs !== windowStartMs) return;
      this.bySensor.delete(sensorId);
      this.size--;
      return;
    }
    const at = held.findIndex((w) => w.aggregate.windowStartMs === windowStartMs);
    if (at < 0) return;
    held.splice(at, 1);
    this.size--;
    if (held.length === 1) this.bySensor.set(sensorId, held[0]!);
  }
  /** Forgets the windows that start before `startMs` (they are not written again). */
  forgetBefore(startMs: number): void {
    for (const [sensorId, held] of this.bySensor) {
      const list = Array.isArray(held) ? held : [held];
      const kept = list.filter((w) => w.aggregate.windowStartMs >= startMs);
      this.size -= list.length - kept.length;
      if (kept.length === 0) this.bySensor.delete(sensorId);
      else if (kept.length < list.length) this.bySensor.set(sensorId, kept.length === 1 ? kept[0]! : kept);
    }
  }
  clear(): void {
    this.bySensor.clear();
    this.size = 0;
  }
}

/** The readings of `delta` that `stored` does not hold (each once), as an aggregate. */
export function freshReadings(stored: WindowAggregate | undefined, delta: WindowDelta): WindowAggregate {
  return windowOf(delta.sensorId, delta.windowStartMs, delta.readings, stored?.offsets);
}

interface Pending {
  delta: WindowDelta;
  /** What the window holds, as far as this invocation knows (undefined: absent). */
  stored: WindowAggregate | undefined;
  /** What the container kept of its last write (undefined: none, or not `stored`'s). */
  known: KnownWindow | undefined;
}

export interface WindowStoreDeps {
  client: DynamoDBClient;
  tableName: string;
  options: ItemOptions;
}

/** What became of a batch's window deltas: how many items were written, and the deltas not written (their readings to retry). */
export interface WindowsAdded {
  written: number;
  failed: WindowDelta[];
}

/**
 * The readings table's windows, for one container: it remembers the windows it wrote (`Windows`,
 * up to CACHE_LIMIT), so that the next batch's write of a window builds on what is stored
 * without reading it.
 */
export class WindowStore {
  private readonly known = new Windows();
  constructor(private readonly deps: WindowStoreDeps) {}

  /**
   * Adds each delta's readings that its window does not hold to the window's item, exactly once
   * whatever the delivery: a write whose condition fails merges again into the item it failed on,
   * up to MAX_CONFLICTS times. A delta already held (a replay) is not written. Answers the deltas
   * that could not be written in time or lost to too many concurrent writers.
   */
  async addAll(deltas: readonly WindowDelta[], io: IoContext, counter: CallCounter): Promise<WindowsAdded> {
    const { client, tableName, options } = this.deps;
    const known = this.known;
    if (known.size > CACHE_LIMIT) {
      // Keep only windows at least as new as this batch's oldest: older ones are not written again.
      let oldest = Number.POSITIVE_INFINITY;
      for (const w of deltas) if (w.windowStartMs < oldest) oldest = w.windowStartMs;
      known.forgetBefore(oldest);
      if (known.size > CACHE_LIMIT) known.clear();
    }
    const failed: WindowDelta[] = [];
    let written = 0;
    // A window the container does not know is written as new: if it exists (written by another
    // container, or before this one started), the condition fails and answers the item, which the
    // next round adds to. No read first: in the steady state an unknown window is a new one.
    const pending: Pending[] = deltas.map((delta) => {
      const kept = known.get(delta.sensorId, delta.windowStartMs);
      return { delta, stored: kept?.aggregate, known: kept };
    });
    for (let round = 0, todo = pending; todo.length > 0; round++) {
      /** `fresh` undefined: an appending write (appendWrite), its readings already folded into the known window. */
      const writes: { p: Pending; fresh: WindowAggregate | undefined; write: TransactWriteItem; packed: Uint8Array; fixed: FixedAttributes }[] = [];
      for (let k = 0; k < todo.length; k++) {
        const p = todo[k]!;
        const { delta } = p;
        if (p.known !== undefined && p.known.aggregate === p.stored && readingCount(p.stored) > 0 && foldable(delta.readings, delta.windowStartMs, p.stored.offsets)) {
          // The steady state: readings after everything the known window holds.
          const { write, packed, fixed } = appendWrite(tableName, p.known, delta.readings, options);
          writes.push({ p, fresh: undefined, write, packed, fixed });
          continue;
        }
        const fresh = freshReadings(p.stored, p.delta);
        if (readingCount(fresh) === 0) {
          // Already held (a replay): nothing to write.
          if (p.stored) known.set(p.known ?? { aggregate: p.stored });
          continue;
        }
        if (round > MAX_CONFLICTS) {
          io.log('ERROR', 'Readings: too many concurrent writers of a window', { sensor_id: p.delta.sensorId, window: p.delta.windowStartMs });
          failed.push(p.delta);
          continue;
        }
        const { write, packed, fixed } = windowWrite(tableName, p.stored, fresh, options, p.known);
        writes.push({ p, fresh, write, packed, fixed });
      }
      let outcomes: WriteOutcome[];
      try {
        outcomes = await writeConditionally(client, writes.map((w) => w.write), io, counter);
      } catch (error) {
        // Appending writes changed their known windows already: forgotten, as for any write not known to have succeeded.
        for (const w of writes) if (w.fresh === undefined) known.delete(w.p.delta.sensorId, w.p.delta.windowStartMs);
        throw error;
      }
      todo = [];
      for (let i = 0; i < writes.length; i++) {
        const { p, fresh, packed, fixed } = writes[i]!;
        const outcome = outcomes[i]!;
        if (outcome.kind === 'written') {
          if (fresh === undefined) {
            // Appended: the known window holds its readings already.
            p.known!.packed = packed;
            p.known!.fixed = fixed;
          } else if (p.known !== undefined && p.known.aggregate === p.stored) {
            // The window as the container knew it, its write added (in place: the usual case).
            addWindow(p.stored, fresh);
            p.known.packed = packed;
            p.known.fixed = fixed;
          } else known.set({ aggregate: p.stored ? addWindow(p.stored, fresh) : fresh, packed, fixed });
          written++;
        } else if (outcome.kind === 'conflict') {
          // Another attempt wrote this window since it was read: add to what it wrote (which an
          // appending write's known window, changed already, is not: forgotten with it).
          known.delete(p.delta.sensorId, p.delta.windowStartMs);
          p.stored = outcome.item ? windowFromItem(outcome.item) : undefined;
          p.known = undefined;
          todo.push(p);
        } else {
          // Not written, or written without an answer: what the window holds is unknown until read
          // again (and an appending write's known window holds readings that may not be stored).
          known.delete(p.delta.sensorId, p.delta.windowStartMs);
          failed.push(p.delta);
        }
      }
    }
    return { written, failed };
  }
}
