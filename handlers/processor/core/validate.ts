/** Kinesis record → validated, enriched reading, or the reason it is quarantined. Pure. */
import { describeFailure, isCanonicalTimestamp, isValidReading, isValidReadingFast, LIMITS, RULE_RECORD, SERVER_SET_KEYS, type RawReading, type RuleRecord } from '../../../contract';
import { REPLAYED_AFTER_MS } from './alerts';
import { congestionLevel, trafficFlowScore } from './enrich';
import type { ProcessorConfig } from '../config';
import { Payloads } from './payloads';
import type { EnrichedReading, InputRecord, Level, Thresholds } from './types';

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
    const scanned = scanRuleRecord(RECORD_SCRATCH, length, payloads, index);
    if (scanned !== undefined) return scanned;
    envelope = parseJson(RECORD_SCRATCH.toString('utf8', 0, length)) as RuleRecord;
  } catch (error) {
    // Node decodes base64 leniently; tell the two failures apart only once parsing has failed.
    if (data.length % 4 !== 0 || !BASE64.test(data)) return 'not base64';
    return `not a record of the topic rule: ${(error as Error).message.slice(0, 120)}`;
  }
  if (typeof envelope !== 'object' || envelope === null || typeof envelope.payload !== 'string') {
    return 'not a record of the topic rule: no payload';
  }
  const problem = payloadProblem(payloads, index, payloads.decode(index, envelope.payload));
  if (problem !== undefined) return problem;
  return { payloads, index, received_at: envelope.received_at, registry_zones: envelope.registry_zones };
}

/** Why a decoded payload (`length` bytes, record `index`'s in `payloads`) is refused, if it is: dropped then. */
function payloadProblem(payloads: Payloads, index: number, length: number): string | undefined {
  if (length <= LIMITS.maxReadingBytes) return undefined;
  payloads.drop(index);
  return `oversize: ${length} bytes, limit ${LIMITS.maxReadingBytes}`;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
/** The rule record's keys, as bytes. */
const PAYLOAD_KEY = Buffer.from(`"${RULE_RECORD.payload}":`);
const RECEIVED_AT_KEY = Buffer.from(`"${RULE_RECORD.receivedAt}":`);
const ZONES_KEY = Buffer.from(`"${RULE_RECORD.registryZones}":`);
/** Digits of a received_at the scan reads (15: always a safe integer); longer ones are left to JSON.parse. */
const MAX_SCANNED_DIGITS = 15;

/** Whether `bytes[at, end)` starts with `key` (compared here: a call to Buffer.compare costs more than these few bytes). */
function startsWith(bytes: Buffer, at: number, end: number, key: Buffer): boolean {
  if (end - at < key.length) return false;
  for (let i = 0; i < key.length; i++) if (bytes[at + i] !== key[i]) return false;
  return true;
}

/**
 * The rule record in `bytes[0, length)`, read without JSON.parse when it is in the form the topic
 * rule writes: `{"payload":"<base64>","received_at":<digits>,"registry_zones":["<zone>",…]}`, keys
 * in any order, each at most once, the last two optional, no whitespace, a zone of printable
 * ASCII without `"` or `\`. Its payload is decoded into `payloads` (entry `index`) from the
 * base64 in the record's bytes; the record itself is never made a string nor parsed, which is
 * most of what reading it costs. Anything else, and a payload whose decoded length shows a
 * character outside base64 (so possibly an escape, a control or non-ASCII character, whose JSON
 * meaning differs from its bytes), answers undefined: JSON.parse reads it then, with the same
 * outcome for every record the scan reads (a property test compares the two).
 */
export function scanRuleRecord(bytes: Buffer, length: number, payloads: Payloads, index: number): DecodedRecord | string | undefined {
  if (length < 2 || bytes[0] !== OPEN_BRACE || bytes[length - 1] !== CLOSE_BRACE) return undefined;
  let at = 1;
  let decoded = -1;
  let receivedAt: number | undefined;
  let zones: string[] | undefined;
  for (;;) {
    if (decoded < 0 && startsWith(bytes, at, length, PAYLOAD_KEY)) {
      at += PAYLOAD_KEY.length;
      if (bytes[at] !== QUOTE) return undefined;
      const end = bytes.indexOf(QUOTE, at + 1);
      if (end < 0 || end >= length) return undefined;
      const base64 = bytes.toString('latin1', at + 1, end);
      decoded = payloads.decode(index, base64);
      if (decoded !== base64Length(base64)) {
        payloads.drop(index);
        return undefined;
      }
      at = end + 1;
    } else if (receivedAt === undefined && startsWith(bytes, at, length, RECEIVED_AT_KEY)) {
      at += RECEIVED_AT_KEY.length;
      const first = at;
      let value = 0;
      while (at < length && bytes[at]! >= ZERO && bytes[at]! <= NINE) value = value * 10 + bytes[at++]! - ZERO;
      const digits = at - first;
      if (digits === 0 || digits > MAX_SCANNED_DIGITS || (digits > 1 && bytes[first] === ZERO)) return rescan(payloads, index, decoded);
      receivedAt = value;
    } else if (zones === undefined && startsWith(bytes, at, length, ZONES_KEY)) {
      at += ZONES_KEY.length;
      if (bytes[at++] !== OPEN_BRACKET) return rescan(payloads, index, decoded);
      zones = [];
      if (bytes[at] === CLOSE_BRACKET) at++;
      else {
        for (;;) {
          if (bytes[at] !== QUOTE) return rescan(payloads, index, decoded);
          const first = ++at;
          while (at < length && bytes[at]! >= 0x20 && bytes[at]! < 0x7f && bytes[at] !== QUOTE && bytes[at] !== BACKSLASH) at++;
          if (bytes[at] !== QUOTE) return rescan(payloads, index, decoded);
          zones.push(bytes.toString('latin1', first, at++));
          if (bytes[at] === COMMA) at++;
          else if (bytes[at++] === CLOSE_BRACKET) break;
          else return rescan(payloads, index, decoded);
        }
      }
    } else return rescan(payloads, index, decoded);
    if (at === length - 1) break;
    if (bytes[at++] !== COMMA) return rescan(payloads, index, decoded);
  }
  if (decoded < 0) return undefined;
  return payloadProblem(payloads, index, decoded) ?? { payloads, index, received_at: receivedAt, registry_zones: zones };
}

/** Leaves a record the scan could not read to JSON.parse, its payload (if decoded already) dropped: answers undefined. */
function rescan(payloads: Payloads, index: number, decoded: number): undefined {
  if (decoded >= 0) payloads.drop(index);
  return undefined;
}

/** The bytes a string of base64 decodes to when every character of it is base64 (4 characters to 3 bytes, less the padding). */
function base64Length(base64: string): number {
  const n = base64.length;
  if (n % 4 !== 0) return -1;
  if (n === 0) return 0;
  const padding = base64.charCodeAt(n - 1) !== EQUALS ? 0 : base64.charCodeAt(n - 2) !== EQUALS ? 1 : 2;
  return (n / 4) * 3 - padding;
}

/** A payload that is not JSON, and why (a class of its own: a payload that is JSON may be a string). */
class NotJson {
  constructor(readonly reason: string) {}
}

/**
 * JSON.parse, its SyntaxError (for text that is not JSON) made without a stack trace: only its
 * message is read, into the quarantine reason, and capturing the stack is most of what a throw
 * costs (a broken payload's parse 1.6-2.0 µs without it, 6.3-7.1 with it, a scratch script).
 * Error.stackTraceLimit is V8's setting, put back at once.
 */
export function parseJson(text: string): unknown {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return JSON.parse(text);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The payload's JSON value, or why it is not JSON. */
function parsePayload(decoded: DecodedRecord): unknown {
  try {
    return parseJson(decoded.payloads.text(decoded.index));
  } catch (error) {
    return new NotJson(`not JSON: ${(error as Error).message.slice(0, 120)}`);
  }
}

/**
 * SERVER_SET_KEYS, one constant each: a load of a constant key is one inline-cached step (3 ns for
 * the four), where `key in raw` over the list looks each key up (55 ns; measured with a scratch
 * script on the benchmark's readings). `satisfies` fails to compile if a key is added without its
 * constant here.
 */
const [SERVER_KEY_0, SERVER_KEY_1, SERVER_KEY_2, SERVER_KEY_3] = SERVER_SET_KEYS satisfies readonly [string, string, string, string];

/**
 * A key only IoT Core may set, sent by the sensor (trying to pass for the server). A parsed JSON
 * value is never undefined, so a key is present exactly when its value is not undefined.
 */
function serverSetKeyProblem(raw: RawReading): string | undefined {
  const r = raw as Record<string, unknown>;
  if (r[SERVER_KEY_0] === undefined && r[SERVER_KEY_1] === undefined && r[SERVER_KEY_2] === undefined && r[SERVER_KEY_3] === undefined) return undefined;
  const key = SERVER_SET_KEYS.find((k) => r[k] !== undefined)!;
  return `${key}: set by IoT Core, not by the sensor; the sensor sent ${JSON.stringify(r[key])?.slice(0, 80)}`;
}

/** Who sent the reading is who IoT established: the record's partition key (the publishing thing). */
function identityProblem(raw: RawReading, record: InputRecord): string | undefined {
  if (raw.sensor_id !== record.partitionKey) return `sensor_id "${raw.sensor_id}" does not match the publishing thing "${record.partitionKey}"`;
  return undefined;
}

/** The reading's time in epoch ms, or why it cannot be taken: not a date, too far ahead, older than the stream keeps. */
function readingTime(raw: RawReading, canonical: boolean, config: ValidationConfig, nowMs: number): number | string {
  const timestampMs = canonical ? canonicalUtcToMs(raw.timestamp) : Date.parse(raw.timestamp);
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
 * A valid reading as the processor keeps it until every sink is done: the fields of READING_FIELDS
 * the sensor sends, then what the processor derives, each set once, in one order. One object of a
 * fixed shape, its fields inside it, built from the parsed JSON (which is garbage at once, dying
 * young: free to collect), rather than the parsed object kept with the derived values added to it
 * (a second, out-of-object store, reallocated as it grows, for the batch to keep alive through
 * every young-generation collection). Keys a sensor sends beyond READING_FIELDS are not read after
 * validation: the raw-data lake keeps them, in the payload's bytes. A test checks that every field
 * of READING_FIELDS the sensor sends is carried.
 */
export class ValidReading implements EnrichedReading {
  sensor_id: string;
  zone_id: string;
  timestamp: string;
  vehicle_count: number;
  avg_speed: number;
  congestion_index: number;
  temperature: number | undefined;
  weather_condition: string | undefined;
  timestampMs: number;
  received_at: number;
  replayed: boolean;
  recordIndex: number;
  traffic_flow_score: number;
  congestion_level: Level;

  constructor(raw: RawReading, sensorId: string, timestamp: string, timestampMs: number, receivedAtMs: number, replayed: boolean, recordIndex: number, thresholds: Thresholds) {
    this.sensor_id = sensorId;
    this.zone_id = raw.zone_id;
    this.timestamp = timestamp;
    this.vehicle_count = raw.vehicle_count;
    this.avg_speed = raw.avg_speed;
    this.congestion_index = raw.congestion_index;
    this.temperature = raw.temperature;
    this.weather_condition = raw.weather_condition;
    this.timestampMs = timestampMs;
    this.received_at = receivedAtMs;
    this.replayed = replayed;
    this.recordIndex = recordIndex;
    this.traffic_flow_score = trafficFlowScore(raw.avg_speed, raw.congestion_index);
    this.congestion_level = congestionLevel(raw.congestion_index, thresholds);
  }
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
  // The payload read from its bytes when it is in the form sensors send (core/scan-payload.ts) and
  // valid; else, as for any other, JSON first, then the schema: hand-written checks, io-ts for the
  // rest (and to say what is wrong).
  const zones = decoded.registry_zones;
  const scanned = decoded.payloads.scan(decoded.index, record.partitionKey, Array.isArray(zones) && typeof zones[0] === 'string' ? zones[0] : undefined);
  let raw: RawReading;
  let fast = scanned !== undefined && isValidReadingFast(scanned);
  if (fast || (scanned !== undefined && isValidReading(scanned))) {
    raw = scanned!;
  } else {
    // Not scanned, or not valid: JSON.parse's value is what the reason describes.
    const parsed = parsePayload(decoded);
    if (parsed instanceof NotJson) return parsed.reason;
    fast = isValidReadingFast(parsed);
    if (!fast && !isValidReading(parsed)) return describeFailure(parsed) ?? 'invalid reading';
    raw = parsed as RawReading;
  }
  const problem = serverSetKeyProblem(raw) ?? identityProblem(raw, record);
  if (problem !== undefined) return problem;
  // The hand-written checks passed only for a canonical timestamp: not checked again.
  const canonical = fast || isCanonicalTimestamp(raw.timestamp);
  const timestampMs = readingTime(raw, canonical, config, nowMs);
  if (typeof timestampMs === 'string') return timestampMs;
  const zoneProblem = registryZoneProblem(decoded.registry_zones, raw.sensor_id, raw.zone_id);
  if (zoneProblem !== undefined) return zoneProblem;
  const receivedAt = decoded.received_at;
  const receivedAtMs = Number.isSafeInteger(receivedAt) && receivedAt! > 0 ? receivedAt! : record.approximateArrivalMs;
  record.receivedAtMs = receivedAtMs;
  return new ValidReading(
    raw,
    // The same id (checked above) as the record's partition key, which the batch keeps anyway: one string kept instead of two.
    record.partitionKey,
    canonical ? raw.timestamp : new Date(timestampMs).toISOString(),
    timestampMs,
    receivedAtMs,
    record.approximateArrivalMs - receivedAtMs > REPLAYED_AFTER_MS,
    recordIndex,
    config.thresholds,
  );
}
