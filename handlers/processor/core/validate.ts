/** Kinesis record → validated reading, or the reason it is quarantined. Pure. */
import { isLeft } from 'fp-ts/lib/Either';
import { describeFailure, decodeReading, LIMITS } from './schema';
import type { InputRecord, Reading } from './types';

export type Validated = { ok: true; reading: Reading } | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface ValidationWindow {
  /** Now, epoch ms. */
  nowMs: number;
  /** Readings older than this (the stream retention) are quarantined as stale. */
  maxAgeMs: number;
}

export function validateRecord(record: InputRecord, window: ValidationWindow): Validated {
  const { data } = record;
  const approxBytes = Math.floor((data.length * 3) / 4);
  if (approxBytes > LIMITS.maxReadingBytes) {
    return { ok: false, reason: `oversize: ${approxBytes} bytes, limit ${LIMITS.maxReadingBytes}` };
  }
  if (data.length % 4 !== 0 || !BASE64.test(data)) return { ok: false, reason: 'not base64' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message.slice(0, 120)}` };
  }
  const decoded = decodeReading(parsed);
  if (isLeft(decoded)) return { ok: false, reason: describeFailure(parsed) ?? 'invalid reading' };
  const raw = decoded.right;
  const timestampMs = Date.parse(raw.timestamp);
  if (Number.isNaN(timestampMs)) return { ok: false, reason: `timestamp: not a valid date, got "${raw.timestamp}"` };
  if (timestampMs > window.nowMs + LIMITS.maxFutureSkewMs) {
    return { ok: false, reason: `timestamp: ${Math.round((timestampMs - window.nowMs) / 1000)} s in the future, limit ${LIMITS.maxFutureSkewMs / 1000} s` };
  }
  if (timestampMs < window.nowMs - window.maxAgeMs) {
    return { ok: false, reason: `timestamp: older than the stream retention (${window.maxAgeMs / 3_600_000} h)` };
  }
  if (raw.thing_name !== undefined && raw.thing_name !== raw.sensor_id) {
    return { ok: false, reason: `sensor_id "${raw.sensor_id}" does not match the publishing thing "${raw.thing_name}"` };
  }
  const reading: Reading = {
    sensor_id: raw.sensor_id,
    zone_id: raw.zone_id,
    timestamp: new Date(timestampMs).toISOString(),
    timestampMs,
    vehicle_count: raw.vehicle_count,
    avg_speed: raw.avg_speed,
    congestion_index: raw.congestion_index,
    received_at: raw.received_at ?? record.approximateArrivalMs,
  };
  if (raw.temperature !== undefined) reading.temperature = raw.temperature;
  if (raw.weather_condition !== undefined) reading.weather_condition = raw.weather_condition;
  return { ok: true, reading };
}
