/** Kinesis record → validated, enriched reading, or the reason it is quarantined. Pure. */
import { describeFailure, isCanonicalTimestamp, isValidReading, isValidReadingFast, LIMITS, SERVER_SET_KEYS, type RawReading, type RuleRecord } from '../../../contract';
import { REPLAYED_AFTER_MS } from './alerts';
import { congestionLevel, trafficFlowScore } from './enrich';
import type { ProcessorConfig } from '../config';
import { Payloads } from './payloads';
import type { EnrichedReading, InputRecord } from './types';

/** A reading, or (a string) the reason it is quarantined. */
export type Validated = EnrichedReading | string;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digits = (ts: string, from: number, count: number): number => {
  let value = 0;
  for (let i = from; i < from + count; i++) value = value * 10 + ts.charCodeAt(i) - 48;
  return value;
};

/**
 * Epoch ms of a canonical UTC timestamp, NaN for an impossible date. Equal to Date.parse on these
 * strings (a property test checks it) at a tenth of its cost: this runs once per reading.
 */
export function canonicalUtcToMs(ts: string): number {
  const year = digits(ts, 0, 4);
  if (year < 100) return Date.parse(ts); // Date.UTC would read 0050 as 1950
  const month = digits(ts, 5, 2);
  const day = digits(ts, 8, 2);
  const hour = digits(ts, 11, 2);
  const minute = digits(ts, 14, 2);
  const second = digits(ts, 17, 2);
  const leap = month === 2 && (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 1 : 0;
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]! + leap || hour > 23 || minute > 59 || second > 59) {
    return Number.NaN;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, digits(ts, 20, 3));
}

/** The settings validation depends on. */
export type ValidationConfig = Pick<ProcessorConfig, 'thresholds' | 'streamRetentionHours'>;

/** The quarantine reason of a reading whose zone_id is not its sensor's zone in the IoT registry. */
export const zoneMismatch = (sensorId: string, zoneId: string, registryZone: string): string =>
  `zone_id "${zoneId}" is not the registry zone "${registryZone}" of sensor "${sensorId}"`;

/**
/**
 * A rule record's overhead beside its base64 payload (receive time, a zone, the keys): generous, so
 * that a record is refused unread only when its payload is far over the limit.
 */
const RECORD_OVERHEAD_BYTES = 1_024;
export const MAX_RECORD_BYTES = Math.ceil((LIMITS.maxReadingBytes * 4) / 3) + RECORD_OVERHEAD_BYTES;

/** The topic rule's record, its payload decoded (what the sensor sent: `payloads`' entry `index`). */
export interface DecodedRecord {
  payloads: Payloads;
  index: number;
  received_at: RuleRecord['received_at'];
  registry_zones: unknown;
}

/**
 * Where each rule record is decoded from base64 before it is parsed (the record is not kept, only
 * its payload): one buffer for every record, instead of a buffer made and dropped per record.
 * Records over MAX_RECORD_BYTES are refused unread, so every record fits.
 */
const RECORD_SCRATCH = Buffer.allocUnsafe(MAX_RECORD_BYTES + 3);

/**
 * The rule's record and the sensor's payload in it, each decoded from base64 once: the same bytes
 * are parsed here and written to the raw-data lake. The payload goes to `payloads` as entry
 * `index` (by default, a store of its own). A string is the reason it is quarantined.
 */
export function decodeRecord(record: InputRecord, payloads: Payloads = new Payloads([record], MAX_RECORD_BYTES), index = 0): DecodedRecord | string {
  const { data } = record;
  const approxBytes = Math.floor((data.length * 3) / 4);
  if (approxBytes > MAX_RECORD_BYTES) {
    // The payload is base64 inside the record: about 3/4 of the record's bytes.
    return `oversize: ${Math.floor((approxBytes * 3) / 4)} bytes, limit ${LIMITS.maxReadingBytes}`;
  }
  let envelope: RuleRecord;
  try {
    const length = RECORD_SCRATCH.write(data, 0, 'base64');
    envelope = JSON.parse(RECORD_SCRATCH.toString('utf8', 0, length)) as RuleRecord;
  } catch (error) {
    // Node decodes base64 leniently; tell the two failures apart only once parsing has failed.
    if (data.length % 4 !== 0 || !BASE64.test(data)) return 'not base64';
    return `not a record of the topic rule: ${(error as Error).message.slice(0, 120)}`;
  }
  if (typeof envelope !== 'object' || envelope === null || typeof envelope.payload !== 'string') {
    return 'not a record of the topic rule: no payload';
  }
  const length = payloads.decode(index, envelope.payload);
  if (length > LIMITS.maxReadingBytes) {
    payloads.drop(index);
    return `oversize: ${length} bytes, limit ${LIMITS.maxReadingBytes}`;
  }
  return { payloads, index, received_at: envelope.received_at, registry_zones: envelope.registry_zones };
}

/** The reading's fields, or why it is not a reading: JSON first, then the schema (hand-written checks, io-ts for the rest). */
function parseReading(decoded: DecodedRecord): RawReading | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoded.payloads.text(decoded.index));
  } catch (error) {
    return `not JSON: ${(error as Error).message.slice(0, 120)}`;
  }
  if (isValidReadingFast(parsed) || isValidReading(parsed)) return parsed;
  return describeFailure(parsed) ?? 'invalid reading';
}

/** A key only IoT Core may set, sent by the sensor (trying to pass for the server). */
function serverSetKeyProblem(raw: RawReading): string | undefined {
  for (const key of SERVER_SET_KEYS) {
    if (key in raw) return `${key}: set by IoT Core, not by the sensor; the sensor sent ${JSON.stringify((raw as Record<string, unknown>)[key])?.slice(0, 80)}`;
  }
  return undefined;
}

/** Who sent the reading is who IoT established: the record's partition key (the publishing thing). */
function identityProblem(raw: RawReading, record: InputRecord): string | undefined {
  if (raw.sensor_id !== record.partitionKey) return `sensor_id "${raw.sensor_id}" does not match the publishing thing "${record.partitionKey}"`;
  return undefined;
}

/** The reading's time in epoch ms, or why it cannot be taken: not a date, too far ahead, older than the stream keeps. */
function readingTime(raw: RawReading, config: ValidationConfig, nowMs: number): number | string {
  const timestampMs = isCanonicalTimestamp(raw.timestamp) ? canonicalUtcToMs(raw.timestamp) : Date.parse(raw.timestamp);
  if (Number.isNaN(timestampMs)) return `timestamp: not a valid date, got "${raw.timestamp}"`;
  if (timestampMs > nowMs + LIMITS.maxFutureSkewMs) {
    return `timestamp: ${Math.round((timestampMs - nowMs) / 1000)} s in the future, limit ${LIMITS.maxFutureSkewMs / 1000} s`;
  }
  if (timestampMs < nowMs - config.streamRetentionHours * 3_600_000) {
    return `timestamp: older than the stream retention (${config.streamRetentionHours} h)`;
  }
  return timestampMs;
}

/**
 * The reason a record's registry zones do not vouch for `zoneId`, or undefined when they do: the
 * rule copies every `tapstack:zone` user property, and only a list of exactly one value, equal to
 * the reading's zone, proves the zone (none: the thing has no zone attribute or is not of the
 * sensor thing type; more than one: the device added its own).
 */
function registryZoneProblem(zones: unknown, sensorId: string, zoneId: string): string | undefined {
  if (Array.isArray(zones) && zones.length === 1 && zones[0] === zoneId) return undefined; // the usual case
  if (zones === undefined) return `no registry zone for sensor "${sensorId}": its thing has no zone attribute or is not of the sensor thing type`;
  if (!Array.isArray(zones) || !zones.every((z) => typeof z === 'string')) return 'registry_zones: not a list of zones (the record was not made by the topic rule)';
  if (zones.length !== 1) return `registry zone ambiguous for sensor "${sensorId}": ${zones.length} tapstack:zone values (${zones.map((z) => JSON.stringify(z)).join(', ')})`;
  return zoneMismatch(sensorId, zoneId, zones[0] as string);
}

/**
 * Validates a record and builds its enriched reading in one object (this is the hot path). Who sent
 * it and when it arrived come from what IoT Core established, never from the sensor's JSON: the
 * sensor is the record's partition key (the rule sets it from the topic level the policy pins to
 * the connecting thing), the receive time the rule's `timestamp()` (or, for a record the rule did not
 * stamp, its Kinesis arrival time), the zone the registry's (RULE_RECORD). Each check is its own
 * step, in this order: record and payload, schema, server-set keys, identity, time, zone.
 */
export function validateRecord(
  record: InputRecord,
  config: ValidationConfig,
  nowMs: number,
  recordIndex = -1,
  decoded: DecodedRecord | string = decodeRecord(record),
): Validated {
  if (typeof decoded === 'string') return decoded;
  const raw = parseReading(decoded);
  if (typeof raw === 'string') return raw;
  const problem = serverSetKeyProblem(raw) ?? identityProblem(raw, record);
  if (problem !== undefined) return problem;
  const timestampMs = readingTime(raw, config, nowMs);
  if (typeof timestampMs === 'string') return timestampMs;
  const zoneProblem = registryZoneProblem(decoded.registry_zones, raw.sensor_id, raw.zone_id);
  if (zoneProblem !== undefined) return zoneProblem;
  // The parsed object becomes the reading (no field-by-field copy that could drop a field).
  const reading = raw as unknown as EnrichedReading;
  // The same id (checked above) as the record's partition key, which the batch keeps anyway: one string kept instead of two.
  reading.sensor_id = record.partitionKey;
  if (!isCanonicalTimestamp(raw.timestamp)) reading.timestamp = new Date(timestampMs).toISOString();
  reading.timestampMs = timestampMs;
  const receivedAt = decoded.received_at;
  reading.received_at = Number.isSafeInteger(receivedAt) && receivedAt! > 0 ? receivedAt! : record.approximateArrivalMs;
  reading.replayed = record.approximateArrivalMs - reading.received_at > REPLAYED_AFTER_MS;
  record.receivedAtMs = reading.received_at;
  reading.recordIndex = recordIndex;
  reading.traffic_flow_score = trafficFlowScore(raw.avg_speed, raw.congestion_index);
  reading.congestion_level = congestionLevel(raw.congestion_index, config.thresholds);
  return reading;
}
