/**
 * The readings sink: each sensor's readings are merged into the item of their window of reading
 * time (core/window.ts), exactly once whatever the delivery. The item layout is decided here:
 * keys, zone index shard, aggregates as `<field>_<aggregate>`, the readings' offsets, TTL.
 *
 * A write is a PutItem conditioned on what the writer read (the item's reading count, which only
 * grows, or its absence), so two attempts on the same window (a retry while a timed-out attempt
 * still runs) can never overwrite each other: the loser re-reads the item the condition failed on
 * and merges again. What the sink last wrote is kept per container, so in the steady state a
 * window costs one write per batch and no read.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { READINGS_TABLE, READING_FIELDS, ROLLUP_FIELDS, type RolledUpField } from '../../../contract';
import { chunk, mapPool, retrying, waitForRetry, type CallCounter, type IoContext } from '../adapters/aws-calls';
import type { ProcessorConfig } from '../config';
import { zoneShard } from '../core/hash';
import { LEVELS, type EnrichedReading, type Level } from '../core/types';
import { byWindow, emptyWindow, mergeIntoWindow, readingCount, WINDOW_STATS, type LastValues, type WindowAggregate } from '../core/window';
import { UnprocessedKeysError } from '../errors';
import { errorDetail } from '../log';
import type { Sink } from './sink';

export type Item = Record<string, AttributeValue>;

/** The settings an item depends on. */
export type ItemOptions = Pick<ProcessorConfig, 'zoneIndexShards' | 'readingTtlDays' | 'rollupWindowSeconds'>;

/** DynamoDB BatchGetItem limit. */
export const MAX_BATCH_GET_KEYS = 100;
/** Conflicting writes to one window (concurrent attempts) before its records are left for a retry. */
export const MAX_CONFLICTS = 5;
/**
 * Window writes in flight: one conditional PutItem per sensor and window (DynamoDB has no batched
 * conditional write at one write unit a item), so a 10,000-record batch of 5,000 sensors is 5,000
 * writes: at 10 ms each, 128 at once take about 0.4 s.
 */
export const WINDOW_WRITES_IN_FLIGHT = 128;
/** Windows remembered per container (about 2 KB each). */
export const CACHE_LIMIT = 50_000;

const PK = READINGS_TABLE.partitionKey;
const SK = READINGS_TABLE.sortKey;
const COUNT = READINGS_TABLE.countAttribute;
const OFFSETS = READINGS_TABLE.offsetsAttribute;

const n = (value: number): AttributeValue => ({ N: String(value) });
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
  const abs = Math.abs(thousandths);
  const whole = Math.floor(abs / 1000);
  return { N: (thousandths < 0 ? '-' : '') + String(whole) + FRACTIONS[abs - whole * 1000] };
}
const toMilli = (v: AttributeValue | undefined): number | undefined => (v?.N === undefined ? undefined : Math.round(Number(v.N) * 1000));

const isLevel = (v: unknown): v is Level => (LEVELS as readonly unknown[]).includes(v);
const LEVEL_ATTRIBUTE: Record<Level, AttributeValue> = { NORMAL: { S: 'NORMAL' }, WARNING: { S: 'WARNING' }, CRITICAL: { S: 'CRITICAL' } };
const required = (f: RolledUpField) => (READING_FIELDS[f] as { required: boolean }).required;
/** Each statistic's attributes: `<field>_sum`, `_mean`, `_min`, `_max` (and `_count` for an optional field). */
const STAT_ATTRIBUTES = WINDOW_STATS.map((stat) => {
  const aggregates = ROLLUP_FIELDS.find((f) => f.name === stat.field)!.aggregates;
  return {
    count: required(stat.field) ? undefined : `${stat.field}_count`,
    sum: stat.sum ? `${stat.field}_sum` : undefined,
    mean: aggregates.includes('mean') ? `${stat.field}_mean` : undefined,
    min: stat.min ? `${stat.field}_min` : undefined,
    max: stat.max ? `${stat.field}_max` : undefined,
  };
});
const LAST_FIELDS = ROLLUP_FIELDS.filter((f) => f.aggregates.includes('last')).map((f) => f.name);
const LAST_ATTRIBUTES = LAST_FIELDS.map((f) => `${f}_last`);

const lastValue = (f: RolledUpField, value: number | string): AttributeValue =>
  READING_FIELDS[f].column === 'string' ? s(String(value)) : READING_FIELDS[f].column === 'double' ? milliNumber(Math.round((value as number) * 1000)) : n(value as number);

/** The DynamoDB item of a window's aggregate. */
export function windowItem(a: WindowAggregate, options: ItemOptions): Item {
  const count = readingCount(a);
  const last = a.last;
  const item: Item = {
    [PK]: s(a.sensorId),
    [SK]: s(new Date(a.windowStartMs).toISOString()),
    [READINGS_TABLE.zoneIndexPartitionKey]: s(zoneShard(last.zone_id, a.sensorId, options.zoneIndexShards)),
    zone_id: s(last.zone_id),
    first_reading_at: s(a.firstTimestamp),
    [READINGS_TABLE.lastReadingAttribute]: s(last.timestamp),
    [COUNT]: n(count),
    [OFFSETS]: { NS: a.offsets.map(String) },
  };
  for (let i = 0; i < STAT_ATTRIBUTES.length; i++) {
    const had = a.counts[i]!;
    if (had === 0) continue;
    const at = STAT_ATTRIBUTES[i]!;
    if (at.count) item[at.count] = n(had);
    if (at.sum) item[at.sum] = milliNumber(a.sums[i]!);
    if (at.mean) item[at.mean] = milliNumber(Math.round(a.sums[i]! / had));
    if (at.min) item[at.min] = milliNumber(a.mins[i]!);
    if (at.max) item[at.max] = milliNumber(a.maxs[i]!);
  }
  for (let i = 0; i < LAST_FIELDS.length; i++) {
    const value = last[LAST_FIELDS[i]!];
    if (value !== undefined) item[LAST_ATTRIBUTES[i]!] = lastValue(LAST_FIELDS[i]!, value);
  }
  item.traffic_flow_score_sum = milliNumber(a.flowSum);
  // The flow score is kept with one decimal, as each reading's.
  item.traffic_flow_score_mean = milliNumber(Math.round(a.flowSum / count / 100) * 100);
  item.traffic_flow_score_last = milliNumber(Math.round(last.traffic_flow_score * 1000));
  item.congestion_level = LEVEL_ATTRIBUTE[last.congestion_level];
  item.congestion_level_max = LEVEL_ATTRIBUTE[a.maxLevel];
  item.received_at_last = n(a.receivedAtMax);
  item[READINGS_TABLE.ttlAttribute] = n(Math.floor(a.windowStartMs / 1000) + options.rollupWindowSeconds + options.readingTtlDays * 86_400);
  return item;
}

/** A window's aggregate from its item (the inverse of windowItem). */
export function windowFromItem(item: Item): WindowAggregate {
  const count = Number(item[COUNT]?.N ?? 0);
  const offsets = (item[OFFSETS]?.NS ?? []).map(Number).sort((x, y) => x - y);
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
    ...emptyWindow(item[PK]!.S!, windowStartMs, undefined),
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
    a.counts[i] = had;
    if (at.sum) a.sums[i] = toMilli(item[at.sum]) ?? 0;
    if (at.min) a.mins[i] = toMilli(item[at.min]) ?? 0;
    if (at.max) a.maxs[i] = toMilli(item[at.max]) ?? 0;
  }
  return a;
}

const keyOf = (sensorId: string, windowStartMs: number) => `${sensorId}|${windowStartMs}`;
const itemKey = (sensorId: string, windowStartMs: number) => ({ [PK]: s(sensorId), [SK]: s(new Date(windowStartMs).toISOString()) });

/** Consistent reads of the windows the container does not remember; absent windows are absent from the answer. */
async function readWindows(
  client: DynamoDBClient,
  tableName: string,
  keys: { sensorId: string; windowStartMs: number }[],
  io: IoContext,
  counter: CallCounter,
): Promise<Map<string, WindowAggregate>> {
  const found = new Map<string, WindowAggregate>();
  await mapPool(chunk(keys, MAX_BATCH_GET_KEYS), io.concurrency, async (part) => {
    let pending: Record<string, AttributeValue>[] = part.map((k) => itemKey(k.sensorId, k.windowStartMs));
    for (let attempt = 0; pending.length > 0; attempt++) {
      counter.add('BatchGetItem');
      const out = await retrying(io, 'BatchGetItem', (abortSignal) =>
        client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }), { abortSignal }),
      );
      for (const item of out.Responses?.[tableName] ?? []) {
        const a = windowFromItem(item);
        found.set(keyOf(a.sensorId, a.windowStartMs), a);
      }
      pending = out.UnprocessedKeys?.[tableName]?.Keys ?? [];
      if (pending.length > 0 && !(await waitForRetry(io, attempt))) {
        throw new UnprocessedKeysError(`BatchGetItem left ${pending.length} window items unread`);
      }
    }
  });
  return found;
}

/** Writes `next` if the stored window is still `known` (by its reading count), or still absent. */
async function putWindow(
  client: DynamoDBClient,
  tableName: string,
  next: WindowAggregate,
  known: WindowAggregate | undefined,
  options: ItemOptions,
  io: IoContext,
  counter: CallCounter,
): Promise<void> {
  counter.add('PutItem');
  await retrying(io, 'PutItem', (abortSignal) =>
    client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: windowItem(next, options),
        ConditionExpression: known ? '#count = :count' : 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: known ? { '#count': COUNT } : { '#pk': PK },
        ...(known ? { ExpressionAttributeValues: { ':count': n(readingCount(known)) } } : {}),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
      { abortSignal },
    ),
  );
}

const isConflict = (error: unknown) =>
  error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';

/** The stored window after a failed condition: the item the failure returned, or a consistent read. */
async function storedWindow(
  error: unknown,
  client: DynamoDBClient,
  tableName: string,
  sensorId: string,
  windowStartMs: number,
  io: IoContext,
  counter: CallCounter,
): Promise<WindowAggregate | undefined> {
  const returned = (error as { Item?: Item }).Item;
  if (returned) return windowFromItem(returned);
  counter.add('GetItem');
  const out = await retrying(io, 'GetItem', (abortSignal) =>
    client.send(new GetItemCommand({ TableName: tableName, Key: itemKey(sensorId, windowStartMs), ConsistentRead: true }), { abortSignal }),
  );
  return out.Item ? windowFromItem(out.Item) : undefined;
}

interface Segment {
  sensorId: string;
  windowStartMs: number;
  key: string;
  readings: EnrichedReading[];
}

/** Merges every sensor's readings into their windows' items; end-to-end latency is measured when done. */
export function readingsSink(client: DynamoDBClient, config: ProcessorConfig): Sink {
  const known = new Map<string, WindowAggregate>();
  return async (batch, { io, counter, now }) => {
    const segments: Segment[] = batch.rollups.flatMap((r) =>
      byWindow(r.readings, config.rollupWindowSeconds).map((w) => ({
        sensorId: r.sensorId,
        windowStartMs: w.windowStartMs,
        key: keyOf(r.sensorId, w.windowStartMs),
        readings: w.readings,
      })),
    );
    if (known.size > CACHE_LIMIT) {
      // Keep only windows at least as new as this batch's oldest: older ones are not written again.
      const oldest = Math.min(...segments.map((s) => s.windowStartMs));
      for (const [key, a] of known) if (a.windowStartMs < oldest) known.delete(key);
      if (known.size > CACHE_LIMIT) known.clear();
    }
    const failed: number[] = [];
    let written = 0;
    let loaded: Map<string, WindowAggregate>;
    try {
      loaded = await readWindows(client, config.tableName, segments.filter((s) => !known.has(s.key)), io, counter);
    } catch (error) {
      io.log('ERROR', 'Readings: window items unreadable, retrying the batch', errorDetail(error));
      return { failedRecords: segments.flatMap((s) => s.readings.map((r) => r.recordIndex)), counts: { itemsWritten: 0 } };
    }
    await mapPool(segments, WINDOW_WRITES_IN_FLIGHT, async (segment) => {
      let stored = known.get(segment.key) ?? loaded.get(segment.key);
      for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
        const { aggregate, added } = mergeIntoWindow(segment.sensorId, segment.windowStartMs, stored, segment.readings);
        if (added.length === 0) {
          known.set(segment.key, aggregate);
          return;
        }
        try {
          await putWindow(client, config.tableName, aggregate, stored, config, io, counter);
          known.set(segment.key, aggregate);
          written++;
          return;
        } catch (error) {
          known.delete(segment.key);
          if (!isConflict(error)) {
            io.log('ERROR', 'Readings: window item not written', { sensor_id: segment.sensorId, window: segment.windowStartMs, ...errorDetail(error) });
            break;
          }
          // Another attempt wrote this window since it was read: merge into what it wrote.
          try {
            stored = await storedWindow(error, client, config.tableName, segment.sensorId, segment.windowStartMs, io, counter);
          } catch (readError) {
            io.log('ERROR', 'Readings: window item unreadable after a conflict', { sensor_id: segment.sensorId, ...errorDetail(readError) });
            break;
          }
        }
      }
      failed.push(...segment.readings.map((r) => r.recordIndex));
    });
    const storedAt = now();
    return {
      failedRecords: failed,
      counts: { itemsWritten: written },
      latencies: { endToEndMs: batch.receivedAtMs.map((receivedAt) => storedAt - receivedAt) },
    };
  };
}
