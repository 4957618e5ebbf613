/**
 * Per-sensor rollups: all readings of one sensor in one batch become one DynamoDB item. Pure.
 * The key is (sensor_id, timestamp of the last reading), so replaying a batch rewrites the same
 * item; an item rolled up from one reading carries that reading's values (count 1).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { READINGS_TABLE } from '../../../src/contract';
import { zoneShard } from './hash';
import { levelRank, type EnrichedReading, type Level } from './types';

export type Item = Record<string, AttributeValue>;

/** One sensor's readings of a batch, with the running statistics of its item. */
export interface Rollup {
  sensorId: string;
  /** The zone of the latest reading (a sensor that moved zones is filed under the latest). */
  zoneId: string;
  /** Readings in time order (ties keep arrival order). */
  readings: EnrichedReading[];
  /** Indices of the input records that make up this rollup, to report them if the write fails. */
  recordIndices: number[];
  first: EnrichedReading;
  last: EnrichedReading;
  vehicleSum: number;
  vehicleMax: number;
  speedSum: number;
  speedMin: number;
  congestionSum: number;
  congestionMax: number;
  flowSum: number;
  maxLevel: Level;
  receivedAtMax: number;
}

export interface RollupOptions {
  zoneIndexShards: number;
  ttlDays: number;
}

const n = (value: number): AttributeValue => ({ N: String(value) });

/** ".001" … ".999" with trailing zeros dropped, "" for 0: the fraction part of a 3-decimal number. */
const FRACTIONS = Array.from({ length: 1000 }, (_, i) => (i === 0 ? '' : `.${String(i).padStart(3, '0').replace(/0+$/, '')}`));

/**
 * A non-negative measurement rounded to 3 decimals, as a DynamoDB number. Equal to
 * String(Math.round(x * 1000) / 1000) (a property test checks it) but without the general
 * double-to-string conversion, which costs about 100 ns and runs 8 times per item.
 */
export function fixed3(value: number): AttributeValue {
  const scaled = Math.round(value * 1000);
  const whole = Math.floor(scaled / 1000);
  return { N: String(whole) + FRACTIONS[scaled - whole * 1000] };
}
const s = (value: string): AttributeValue => ({ S: value });
/** Level attributes are shared constants: two allocations fewer per item. */
const LEVEL_ATTRIBUTE: Record<Level, AttributeValue> = { NORMAL: { S: 'NORMAL' }, WARNING: { S: 'WARNING' }, CRITICAL: { S: 'CRITICAL' } };

export function startRollup(reading: EnrichedReading, index: number): Rollup {
  return {
    sensorId: reading.sensor_id,
    zoneId: reading.zone_id,
    readings: [reading],
    recordIndices: [index],
    first: reading,
    last: reading,
    vehicleSum: reading.vehicle_count,
    vehicleMax: reading.vehicle_count,
    speedSum: reading.avg_speed,
    speedMin: reading.avg_speed,
    congestionSum: reading.congestion_index,
    congestionMax: reading.congestion_index,
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
  rollup.vehicleSum += reading.vehicle_count;
  if (reading.vehicle_count > rollup.vehicleMax) rollup.vehicleMax = reading.vehicle_count;
  rollup.speedSum += reading.avg_speed;
  if (reading.avg_speed < rollup.speedMin) rollup.speedMin = reading.avg_speed;
  rollup.congestionSum += reading.congestion_index;
  if (reading.congestion_index > rollup.congestionMax) rollup.congestionMax = reading.congestion_index;
  rollup.flowSum += reading.traffic_flow_score;
  if (levelRank(reading.congestion_level) > levelRank(rollup.maxLevel)) rollup.maxLevel = reading.congestion_level;
  if (reading.received_at > rollup.receivedAtMax) rollup.receivedAtMax = reading.received_at;
}

/** The DynamoDB item of one rollup (hand-marshalled: the shape is fixed and this is the hot path). */
export function rollupItem(rollup: Rollup, options: RollupOptions): Item {
  const { first, last } = rollup;
  const count = rollup.readings.length;
  const item: Item = {
    [READINGS_TABLE.partitionKey]: s(rollup.sensorId),
    // The sort key is the last reading's time: the item covers first_reading_at .. timestamp.
    [READINGS_TABLE.sortKey]: s(last.timestamp),
    [READINGS_TABLE.zoneIndexPartitionKey]: s(zoneShard(rollup.zoneId, rollup.sensorId, options.zoneIndexShards)),
    zone_id: s(rollup.zoneId),
    first_reading_at: s(first.timestamp),
    reading_count: n(count),
    vehicle_count_sum: n(rollup.vehicleSum),
    vehicle_count_max: n(rollup.vehicleMax),
    vehicle_count_last: n(last.vehicle_count),
    // Speeds, indices and scores are stored with 3 decimals (the raw readings keep every digit in S3).
    avg_speed_mean: fixed3(rollup.speedSum / count),
    avg_speed_min: fixed3(rollup.speedMin),
    avg_speed_last: fixed3(last.avg_speed),
    congestion_index_mean: fixed3(rollup.congestionSum / count),
    congestion_index_max: fixed3(rollup.congestionMax),
    congestion_index_last: fixed3(last.congestion_index),
    traffic_flow_score_mean: fixed3(Math.round((rollup.flowSum / count) * 10) / 10),
    traffic_flow_score_last: fixed3(last.traffic_flow_score),
    congestion_level: LEVEL_ATTRIBUTE[last.congestion_level],
    congestion_level_max: LEVEL_ATTRIBUTE[rollup.maxLevel],
    received_at_last: n(rollup.receivedAtMax),
    [READINGS_TABLE.ttlAttribute]: n(Math.floor(last.timestampMs / 1000) + options.ttlDays * 86_400),
  };
  if (last.temperature !== undefined) item.temperature_last = n(last.temperature);
  if (last.weather_condition !== undefined) item.weather_condition_last = s(last.weather_condition);
  return item;
}
