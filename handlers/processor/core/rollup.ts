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

export interface Rollup {
  sensorId: string;
  zoneId: string;
  /** Readings in time order (ties keep arrival order). */
  readings: EnrichedReading[];
  /** Indices of the input records that make up this rollup, to report them if the write fails. */
  recordIndices: number[];
}

export interface RollupOptions {
  zoneIndexShards: number;
  ttlDays: number;
}

const n = (value: number): AttributeValue => ({ N: String(value) });
const s = (value: string): AttributeValue => ({ S: value });
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Groups valid readings by sensor, keeping each sensor's readings in time order. */
export function groupBySensor(readings: { reading: EnrichedReading; index: number }[]): Rollup[] {
  const bySensor = new Map<string, Rollup>();
  for (const { reading, index } of readings) {
    let rollup = bySensor.get(reading.sensor_id);
    if (!rollup) {
      rollup = { sensorId: reading.sensor_id, zoneId: reading.zone_id, readings: [], recordIndices: [] };
      bySensor.set(reading.sensor_id, rollup);
    }
    rollup.readings.push(reading);
    rollup.recordIndices.push(index);
  }
  for (const rollup of bySensor.values()) {
    if (rollup.readings.length > 1) rollup.readings.sort((a, b) => a.timestampMs - b.timestampMs);
    // A sensor that moved zones within a batch is filed under its latest zone.
    rollup.zoneId = rollup.readings[rollup.readings.length - 1]!.zone_id;
  }
  return [...bySensor.values()];
}

interface Stat {
  sum: number;
  min: number;
  max: number;
}
const stat = (values: number[]): Stat => {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { sum, min, max };
};

/** The DynamoDB item of one rollup (hand-marshalled: the shape is fixed and this is the hot path). */
export function rollupItem(rollup: Rollup, options: RollupOptions): Item {
  const rs = rollup.readings;
  const first = rs[0]!;
  const last = rs[rs.length - 1]!;
  const count = rs.length;
  const vehicles = stat(rs.map((r) => r.vehicle_count));
  const speed = stat(rs.map((r) => r.avg_speed));
  const congestion = stat(rs.map((r) => r.congestion_index));
  const flow = stat(rs.map((r) => r.traffic_flow_score));
  let maxLevel: Level = 'NORMAL';
  let receivedAtMax = 0;
  for (const r of rs) {
    if (levelRank(r.congestion_level) > levelRank(maxLevel)) maxLevel = r.congestion_level;
    if (r.received_at > receivedAtMax) receivedAtMax = r.received_at;
  }
  const item: Item = {
    [READINGS_TABLE.partitionKey]: s(rollup.sensorId),
    [READINGS_TABLE.sortKey]: s(last.timestamp),
    [READINGS_TABLE.zoneIndexPartitionKey]: s(zoneShard(rollup.zoneId, rollup.sensorId, options.zoneIndexShards)),
    zone_id: s(rollup.zoneId),
    first_reading_at: s(first.timestamp),
    last_reading_at: s(last.timestamp),
    reading_count: n(count),
    vehicle_count_sum: n(vehicles.sum),
    vehicle_count_min: n(vehicles.min),
    vehicle_count_max: n(vehicles.max),
    vehicle_count_last: n(last.vehicle_count),
    avg_speed_mean: n(round(speed.sum / count)),
    avg_speed_min: n(speed.min),
    avg_speed_max: n(speed.max),
    avg_speed_last: n(last.avg_speed),
    congestion_index_mean: n(round(congestion.sum / count)),
    congestion_index_min: n(congestion.min),
    congestion_index_max: n(congestion.max),
    congestion_index_last: n(last.congestion_index),
    traffic_flow_score_mean: n(round(flow.sum / count, 1)),
    traffic_flow_score_min: n(flow.min),
    traffic_flow_score_last: n(last.traffic_flow_score),
    congestion_level: s(last.congestion_level),
    congestion_level_max: s(maxLevel),
    received_at_last: n(receivedAtMax),
    [READINGS_TABLE.ttlAttribute]: n(Math.floor(last.timestampMs / 1000) + options.ttlDays * 86_400),
  };
  if (last.temperature !== undefined) item.temperature_last = n(last.temperature);
  if (last.weather_condition !== undefined) item.weather_condition_last = s(last.weather_condition);
  return item;
}
