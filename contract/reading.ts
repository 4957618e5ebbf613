/**
 * The sensor reading, declared once: each field's validation (an io-ts codec), whether the device
 * must send it, its column in the raw-data lake (Glue, Athena, QuickSight) and what a rollup keeps
 * of it. The processor validates with these codecs and rolls up from ROLLUP_FIELDS; the template
 * builds the Glue table and the QuickSight data set from RAW_COLUMNS. Adding a field is one entry
 * here, plus the code that uses it.
 */
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either';
import { READINGS_TABLE } from './names';

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

/** Column types of the raw-data lake (Glue/Hive names) and their QuickSight counterparts. */
export const COLUMN_TYPES = { string: 'STRING', int: 'INTEGER', bigint: 'INTEGER', double: 'DECIMAL' } as const;
export type ColumnType = keyof typeof COLUMN_TYPES;

/**
 * What a rollup keeps of a numeric field over one sensor's readings: the sum, the mean (kept as
 * the sum and the count of readings that had the field: a reader divides, `windowMean`), the
 * minimum, the maximum and the value of the latest reading.
 */
export type Aggregate = 'sum' | 'mean' | 'min' | 'max' | 'last';

interface FieldSpec {
  codec: t.Mixed;
  /** Required: a reading without it is quarantined. Optional: checked only when present. */
  required: boolean;
  column: ColumnType;
  /** The column name when it differs from the JSON key (`timestamp` is an Athena keyword). */
  columnName?: string;
  /** Aggregates the rollup item stores, as `<field>_<aggregate>` attributes. */
  rollup?: readonly Aggregate[];
  /** Who sets it: the sensor, or the IoT topic rule (sensor clocks drift; the rule's do not). */
  setBy?: 'sensor' | 'rule';
  /**
   * A valid value, for every field the sensor sends. A required field's: `exampleReading` is made of
   * them, and what makes readings (the simulator's fleet, the benchmark's batches, the tests' helpers,
   * the example device command) starts from it, so a new required field reaches all of them from its
   * entry here. An optional field's: what the test that every field reaches the processor's reading
   * (tests/unit/handlers/processor/core/validate.test.ts, ValidReading) sends, so a new optional field
   * cannot be dropped unseen.
   */
  example?: string | number;
}

/** Every field of a reading, in the order of the raw-data columns. */
export const READING_FIELDS = {
  sensor_id: { codec: matching('a sensor id (1-128 of A-Z a-z 0-9 _ . : -)', ID_PATTERN), required: true, column: 'string', example: 'sensor-00001' },
  zone_id: { codec: matching('a zone id (1-64 of A-Z a-z 0-9 _ . : -)', ZONE_PATTERN), required: true, column: 'string', example: 'zone-1' },
  timestamp: { codec: isoTimestamp, required: true, column: 'string', columnName: 'reading_time', example: '2026-11-22T08:00:00.000Z' },
  vehicle_count: {
    codec: numberIn('vehicle_count', 0, LIMITS.maxVehicleCount, true),
    required: true,
    column: 'int',
    rollup: ['sum', 'max', 'last'],
    example: 14,
  },
  avg_speed: { codec: numberIn('avg_speed', 0, LIMITS.maxSpeedKmh), required: true, column: 'double', rollup: ['mean', 'min', 'last'], example: 38.5 },
  congestion_index: { codec: numberIn('congestion_index', 0, 100), required: true, column: 'double', rollup: ['mean', 'max', 'last'], example: 42 },
  temperature: {
    codec: numberIn('temperature', LIMITS.minTemperatureC, LIMITS.maxTemperatureC),
    required: false,
    column: 'double',
    rollup: ['last'],
    example: -3.25,
  },
  /** Free text from the sensor's weather feed, in any language: it must never cost a reading its place. */
  weather_condition: {
    codec: matching('a weather condition (1-64 printable characters)', /^[^\p{C}]{1,64}$/u),
    required: false,
    column: 'string',
    rollup: ['last'],
    example: 'léger brouillard ☁',
  },
  /**
   * Server receive time in epoch milliseconds: the topic rule's `timestamp()`, carried in the rule's
   * envelope (RULE_RECORD), never in what the sensor sent. A sensor that sends it is quarantined.
   */
  received_at: { codec: numberIn('received_at', 0, Number.MAX_SAFE_INTEGER, true), required: false, column: 'bigint', setBy: 'rule' },
} as const satisfies Record<string, FieldSpec>;

export type FieldName = keyof typeof READING_FIELDS;
type Fields = typeof READING_FIELDS;
type RequiredName = { [K in FieldName]: Fields[K]['required'] extends true ? K : never }[FieldName];
type RuleSetName = { [K in FieldName]: Fields[K] extends { setBy: 'rule' } ? K : never }[FieldName];
type OptionalName = Exclude<FieldName, RequiredName | RuleSetName>;

/** The fields the sensor sends (those the rule sets are not part of its message). */
const sentBySensor = ([, f]: [string, FieldSpec]) => f.setBy !== 'rule';
const pick = <K extends FieldName>(required: boolean) =>
  Object.fromEntries(
    (Object.entries(READING_FIELDS) as [string, FieldSpec][])
      .filter((e) => sentBySensor(e) && e[1].required === required)
      .map(([name, f]) => [name, f.codec]),
  ) as { [N in K]: Fields[N]['codec'] };

/** The required fields the sensor sends, with their types. */
export type RequiredReading = { [K in RequiredName]: t.TypeOf<Fields[K]['codec']> };

const EXAMPLE: Readonly<Record<string, unknown>> = Object.freeze(
  Object.fromEntries(
    (Object.entries(READING_FIELDS) as [string, FieldSpec][])
      .filter((e) => sentBySensor(e) && e[1].required)
      .map(([name, f]) => [name, f.example]),
  ),
);

/**
 * A valid reading of the required fields, each at its `example`, with `overrides` on top (keys in
 * READING_FIELDS' order, then any others): what every maker of readings starts from, the sensor's
 * own values in `overrides`. A required field added to READING_FIELDS with its example reaches the
 * simulator's fleet, the benchmark's batches and the tests' readings without touching them.
 */
export function exampleReading<O extends object = {}>(overrides: O = {} as O): RequiredReading & O {
  return { ...EXAMPLE, ...overrides } as RequiredReading & O;
}

/** Required fields. Decoding an object that is already valid returns that same object (no copy). */
export const RequiredFields = t.type(pick<RequiredName>(true));
/** Optional fields: checked only when present. */
export const OptionalFields = t.partial(pick<OptionalName>(false));

/** The whole reading as the sensor sends it (for types and for describing failures). */
export const RawReading = t.intersection([RequiredFields, OptionalFields]);
export type RawReading = t.TypeOf<typeof RawReading>;

/**
 * The Kinesis record the IoT topic rule writes for each message: the sensor's bytes, opaque, next to
 * what IoT Core established. The rule's SQL (template/layers/ingestion.ts) selects only functions, never
 * `*` with aliases beside it: AWS documents adding keys to `SELECT *` ("SELECT *, 15 as speed") but
 * not which value wins when the device's JSON has a key of the same name
 * (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-select.html), so nothing the device
 * sends can land in a key the processor trusts, whichever way IoT Core resolves such a collision.
 * `encode(*, 'base64')` takes the payload whatever it is (JSON or not): the documented form for
 * binary payloads (https://docs.aws.amazon.com/iot/latest/developerguide/binary-payloads.html).
 * The sensor itself is the record's partition key (the topic level the policy pins to the thing).
 */
export const RULE_RECORD = {
  /** The message payload as published, base64 (`encode(*, 'base64')`). */
  payload: 'payload',
  /** Server receive time, epoch ms (`timestamp()`). */
  receivedAt: 'received_at',
  /** Every value of the `tapstack:zone` user property (`get_user_properties`): the registry zone, once, when all is well. */
  registryZones: 'registry_zones',
} as const;

/** A record as the rule writes it (and the simulator, the tests and the bench make it). */
export interface RuleRecord {
  payload: string;
  received_at?: number;
  registry_zones?: string[];
}

/** The record the rule writes for a message: its payload (bytes as published), receive time and propagated zones. */
export function ruleRecord(payload: Buffer | string, receivedAtMs: number | undefined, registryZones: readonly string[] | undefined): string {
  const record: RuleRecord = { payload: Buffer.from(payload).toString('base64') };
  if (receivedAtMs !== undefined) record.received_at = receivedAtMs;
  // IoT SQL leaves a key out when its value is Undefined (no such user property).
  if (registryZones !== undefined && registryZones.length > 0) record.registry_zones = [...registryZones];
  return JSON.stringify(record);
}

/**
 * Keys only IoT Core may set. They never travel in what the sensor sent (RULE_RECORD keeps the
 * payload apart), so a sensor that sends one is trying to pass for the server: quarantined.
 * `thing_name` and `registry_zone` are the names earlier versions of the rule added.
 */
export const SERVER_SET_KEYS = [RULE_RECORD.receivedAt, RULE_RECORD.registryZones, 'thing_name', 'registry_zone'] as const;

/**
 * How a reading learns its sensor's registry zone: IoT Core message enrichment. The sensors' thing
 * type propagates the thing attribute `zone` to every message its things publish as the MQTT 5 user
 * property `tapstack:zone` (with Basic Ingest and through the broker, whatever MQTT version the
 * device speaks), and the topic rule copies every value of that property into the record
 * (RULE_RECORD.registryZones) with `get_user_properties`, a function that is not billed (only
 * Lambda, get_dynamodb, get_registry_data and get_thing_shadow are billed like an action). An MQTT 5
 * device can add a `tapstack:zone` property of its own: the processor accepts a reading only when
 * the list holds exactly one value, equal to its zone_id, so an added value quarantines it instead.
 *  - https://docs.aws.amazon.com/iot/latest/developerguide/thing-types-propagating-attributes.html
 *  - https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html
 *  - https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-iot-thingtype-propagatingattribute.html
 *    (UserPropertyKey: [a-zA-Z0-9:$.]+, so no underscore)
 */
export const REGISTRY_ZONE = {
  /** The thing attribute (the provisioning layout's `zone`). */
  thingAttribute: 'zone',
  /** The MQTT 5 user property IoT Core adds to each message. */
  userPropertyKey: 'tapstack:zone',
} as const;

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
 * The codecs' type guards: the same rules as `decode` without allocating a result per field. The
 * authority on what is valid (the hot path below only ever accepts what these accept);
 * `describeFailure` decodes only the readings that fail.
 */
export function isValidReading(value: unknown): value is RawReading {
  return RequiredFields.is(value) && OptionalFields.is(value);
}

/** Characters of ID_PATTERN and ZONE_PATTERN (A-Z a-z 0-9 _ . : -), by char code. */
const ID_CHARS = (() => {
  const table = new Uint8Array(128);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-') table[c.charCodeAt(0)] = 1;
  return table;
})();
const isId = (v: unknown, maxLength: number): boolean => {
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c > 127 || ID_CHARS[c] === 0) return false;
  }
  return true;
};
/** `YYYY-MM-DDTHH:MM:SS.sssZ` by position: the character code each position must be, 0 for a digit. */
const CANONICAL_AT = Array.from('0000-00-00T00:00:00.000Z', (c) => (c === '0' ? 0 : c.charCodeAt(0)));
/** `YYYY-MM-DDTHH:MM:SS.sssZ` (what toISOString() gives): a string ISO_8601 accepts. Run once per reading, so by character codes alone. */
export const isCanonicalTimestamp = (v: unknown): v is string => {
  if (typeof v !== 'string' || v.length !== CANONICAL_AT.length) return false;
  for (let i = 0; i < CANONICAL_AT.length; i++) {
    const c = v.charCodeAt(i);
    const want = CANONICAL_AT[i]!;
    if (want === 0 ? c < 48 || c > 57 : c !== want) return false;
  }
  return true;
};
const inRange = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && v >= min && v <= max;
/** Printable ASCII, 1-64 characters: a weather condition the codec accepts (any other text is left to it). */
const isPrintableAscii = (v: unknown, maxLength: number): boolean => {
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 32 || c > 126) return false;
  }
  return true;
};

/**
 * The hot path of a valid reading: hand-written checks of every field the sensor sends, about
 * four times cheaper than the codecs' guards (npm run bench prints both). Never accepts what
 * isValidReading refuses (a property test holds it to that): a reading it does not accept (a
 * timestamp with an offset, a weather condition outside printable ASCII, or anything invalid) is
 * decided by isValidReading and described by describeFailure.
 */
export function isValidReadingFast(value: unknown): value is RawReading {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const r = value as Record<string, unknown>;
  return (
    isId(r.sensor_id, 128) &&
    isId(r.zone_id, 64) &&
    isCanonicalTimestamp(r.timestamp) &&
    Number.isInteger(r.vehicle_count) &&
    inRange(r.vehicle_count, 0, LIMITS.maxVehicleCount) &&
    inRange(r.avg_speed, 0, LIMITS.maxSpeedKmh) &&
    inRange(r.congestion_index, 0, 100) &&
    (r.temperature === undefined || inRange(r.temperature, LIMITS.minTemperatureC, LIMITS.maxTemperatureC)) &&
    (r.weather_condition === undefined || isPrintableAscii(r.weather_condition, 64))
  );
}

/**
 * The fields isValidReadingFast checks: a test compares them with the fields of READING_FIELDS the
 * sensor sends, so a new field cannot be missed. (Those IoT Core sets are not in the sensor's
 * message: the rule's record carries them, and validation refuses a message that sends one.)
 */
export const FAST_CHECKED_FIELDS: readonly FieldName[] = [
  'sensor_id',
  'zone_id',
  'timestamp',
  'vehicle_count',
  'avg_speed',
  'congestion_index',
  'temperature',
  'weather_condition',
];

/** A raw-data column: its name, its Glue type and the JSON key it is read from when that differs. */
export interface RawColumn {
  Name: string;
  Type: ColumnType;
  jsonKey?: string;
}

/** The raw readings' columns, as the lake stores them. */
export const RAW_COLUMNS: readonly RawColumn[] = Object.entries(READING_FIELDS).map(([name, f]: [string, FieldSpec]) =>
  f.columnName ? { Name: f.columnName, Type: f.column, jsonKey: name } : { Name: name, Type: f.column },
);

/**
 * The window item's attribute that counts the readings that had a field: the item's reading count
 * for a required field (every reading has it), `<field>_count` for an optional one.
 */
export const rollupCountAttribute = (field: RolledUpField): string =>
  READING_FIELDS[field].required ? READINGS_TABLE.countAttribute : `${field}_count`;

/**
 * A window item's mean of a field (one whose rollup keeps the mean): its `<field>_sum` over the
 * count of readings that had the field (`<field>_count` for an optional field, the item's reading
 * count for a required one), at 3 decimals as the processor keeps every statistic (exact: the sum
 * is a whole number of thousandths). The item stores the sum and the count, not the mean: every
 * write of a window rewrites its statistics, and a mean that a reader can work out is one number
 * fewer to write (the processor's cost per window write, adapters/window-store.ts). Undefined when
 * the item has no such reading. Items written before this stored `<field>_mean` too; it equals this.
 */
export function windowMean(item: Readonly<Record<string, { N?: string } | undefined>>, field: RolledUpField): number | undefined {
  const sum = item[`${field}_sum`]?.N;
  const count = item[rollupCountAttribute(field)]?.N;
  if (sum === undefined || count === undefined || Number(count) <= 0) return undefined;
  return Math.round((Math.round(Number(sum) * 1000) / Number(count))) / 1000;
}

/** The numeric fields a rollup aggregates, with their aggregates. */
export type RolledUpField = { [K in FieldName]: Fields[K] extends { rollup: readonly Aggregate[] } ? K : never }[FieldName];
export const ROLLUP_FIELDS = Object.entries(READING_FIELDS).flatMap(([name, f]: [string, FieldSpec]) =>
  f.rollup ? [{ name: name as RolledUpField, aggregates: f.rollup }] : [],
);
