/**
 * The reading schema, with io-ts: types, required fields and ranges. A failure names the first
 * offending field, the value received and what was expected.
 */
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either';

/** Upper bounds a physical road sensor cannot exceed. */
export const LIMITS = {
  /** Vehicles counted in one 1 s reading on one sensor: far above any road's capacity. */
  maxVehicleCount: 10_000,
  maxSpeedKmh: 300,
  minTemperatureC: -80,
  maxTemperatureC: 80,
  /** Sensor clocks may run ahead this much before a reading counts as from the future. */
  maxFutureSkewMs: 5 * 60_000,
  maxReadingBytes: 4_096,
} as const;

export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Zone ids may not contain '#': it separates the zone from the write shard in zone_shard. */
export const ZONE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

const isoTimestamp = new t.Type<string, string, unknown>(
  'an ISO-8601 date-time with a time zone',
  (u): u is string => typeof u === 'string' && ISO_8601.test(u),
  (u, c) =>
    typeof u === 'string' && ISO_8601.test(u)
      ? t.success(u)
      : t.failure(u, c, 'expected an ISO-8601 date-time with a time zone'),
  t.identity,
);

const matching = (name: string, pattern: RegExp) =>
  new t.Type<string, string, unknown>(
    name,
    (u): u is string => typeof u === 'string' && pattern.test(u),
    (u, c) => (typeof u === 'string' && pattern.test(u) ? t.success(u) : t.failure(u, c, `expected ${name}`)),
    t.identity,
  );

const numberIn = (name: string, min: number, max: number, integer = false) =>
  new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === 'number' && u >= min && u <= max && (!integer || Number.isInteger(u)),
    (u, c) =>
      typeof u === 'number' && Number.isFinite(u) && u >= min && u <= max && (!integer || Number.isInteger(u))
        ? t.success(u)
        : t.failure(u, c, `expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`),
    t.identity,
  );

/** Required fields. Decoding an object that is already valid returns that same object (no copy). */
export const RequiredFields = t.type({
    sensor_id: matching('a sensor id (1-128 of A-Z a-z 0-9 _ . : -)', ID_PATTERN),
    zone_id: matching('a zone id (1-64 of A-Z a-z 0-9 _ . : -)', ZONE_PATTERN),
    timestamp: isoTimestamp,
    vehicle_count: numberIn('vehicle_count', 0, LIMITS.maxVehicleCount, true),
    avg_speed: numberIn('avg_speed', 0, LIMITS.maxSpeedKmh),
    congestion_index: numberIn('congestion_index', 0, 100),
});

/** Optional fields: checked only when present. */
export const OptionalFields = t.partial({
    temperature: numberIn('temperature', LIMITS.minTemperatureC, LIMITS.maxTemperatureC),
    weather_condition: matching('a weather condition (1-32 of A-Z a-z 0-9 _ -)', /^[A-Za-z0-9_-]{1,32}$/),
    received_at: numberIn('received_at', 0, Number.MAX_SAFE_INTEGER, true),
    thing_name: t.string,
});

/** The whole reading (for types and for describing failures). */
export const RawReading = t.intersection([RequiredFields, OptionalFields]);
export type RawReading = t.TypeOf<typeof RawReading>;

/** The first validation error as one line: `field: expected …, got …`. */
export function describeFailure(value: unknown): string | undefined {
  const result = RawReading.decode(value);
  if (!isLeft(result)) return undefined;
  const error = result.left[0]!;
  const path = error.context
    .map((c) => c.key)
    .filter((k) => k !== '' && !/^\d+$/.test(k))
    .join('.');
  const got = error.value === undefined ? 'nothing (missing)' : JSON.stringify(error.value)?.slice(0, 80);
  return `${path || 'reading'}: ${error.message ?? 'invalid'}, got ${got}`;
}

/**
 * The hot path: the codecs' type guards, which check the same rules as `decode` without
 * allocating a result per field; `describeFailure` decodes only the readings that fail.
 */
export function isValidReading(value: unknown): value is RawReading {
  return RequiredFields.is(value) && OptionalFields.is(value);
}
