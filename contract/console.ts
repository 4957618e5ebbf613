/**
 * The traffic controllers' console, declared once: the sensor-status table the processor writes
 * and the console API reads, the acknowledgement attributes on the alert state, the API's routes,
 * the sign-in groups and scope, the API function's resource bindings (its settings: contract/env.ts), and the page's security headers.
 * The template (template/layers/console.ts), the processor's status sink, the console API
 * (handlers/processor/console-api.ts), the local server of `npm start` and the tests read these.
 */
import { sameResource, type ResourceBinding } from './env';
import { PROCESSOR_RESOURCES } from './outputs';
import { ALERT_STATE_TABLE, READINGS_TABLE } from './names';

/**
 * The latest reading of every sensor, packed many sensors to an item so that the whole city is a
 * Scan of a few hundred items (the readings table has one item per sensor and minute: reading it
 * for a city snapshot would cost one read unit per sensor). Item key: `bucket`, the sensor's share
 * of the MD5 hash space Kinesis routes by (so one shard's sensors fall in few items); every other
 * attribute is one sensor: its name is the sensor id, its value {@link encodeSensorStatus}.
 */
export const SENSOR_STATUS_TABLE = {
  partitionKey: 'bucket',
  /** Epoch ms of the item's last write (diagnostics; not a sensor). */
  updatedAt: '_updated_at',
} as const;

/** How many items the status table spreads the sensors over: a power of two, up to the 256 values of MD5's first byte. */
export const SENSOR_STATUS_ITEM_COUNTS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;
/** Sensors to a status item at most (~9 KB of statuses) before another item is worth its extra writes. */
export const SENSORS_PER_STATUS_ITEM = 200;
/** The SensorStatusItems a city of this many sensors needs: the fewest items of at most SENSORS_PER_STATUS_ITEM each. */
export const sensorStatusItemsFor = (sensors: number): number =>
  SENSOR_STATUS_ITEM_COUNTS.find((n) => sensors / n <= SENSORS_PER_STATUS_ITEM) ?? SENSOR_STATUS_ITEM_COUNTS[SENSOR_STATUS_ITEM_COUNTS.length - 1]!;

/** One sensor's latest valid reading, as the console shows it. */
export interface SensorStatus {
  sensorId: string;
  zoneId: string;
  congestionIndex: number;
  vehicleCount: number;
  avgSpeedKmh: number;
  /** IoT receive time of the reading (epoch ms): what the data age is measured from. */
  receivedAtMs: number;
  /** The sensor's own time of the reading (epoch ms). */
  readingAtMs: number;
}

/** Separates the fields of a status value; zone ids cannot contain it (ZONE_PATTERN). */
const SEPARATOR = '|';

/** Cached texts of the numbers from 0 to 1,000 at one decimal (what sensors send: congestion, speed, counts), by tenths. */
const TENTHS_TEXT: (string | undefined)[] = new Array(10_001).fill(undefined);

/**
 * String(value), the same characters, without converting the double again each time when it is a
 * number of tenths from 0 to 1,000 (the processor writes every sensor's status every batch, and
 * a double's conversion to text is most of its cost): such a value is exactly one double (or -0,
 * whose text is "0" as well), so its text is cached by its tenths.
 */
export function numberText(value: number): string {
  const tenths = Math.round(value * 10);
  if (tenths >= 0 && tenths < TENTHS_TEXT.length && tenths / 10 === value) return (TENTHS_TEXT[tenths] ??= String(value));
  return String(value);
}

/** Zeros that pad the low six digits of integerText's split. */
const PAD = ['', '0', '00', '000', '0000', '00000'];
/** V8's small integers end at 2^30: above, String() takes the general double-to-text path. */
const SMALL_INTEGER_LIMIT = 2 ** 30;

/**
 * String(value), the same characters, for an integer of up to 15 digits (an epoch time in ms: a
 * receive time, a reading time) converted as two small integers, about four times cheaper than
 * String() on a number past 2^30 (measured with a scratch script: 23 ns against 90 ns). Anything
 * else (a fraction, a negative number, a larger one) is String()'s. A property test checks both.
 */
export function integerText(value: number): string {
  if (value < SMALL_INTEGER_LIMIT || value >= 1e15 || !Number.isInteger(value)) return String(value);
  const high = Math.floor(value / 1_000_000);
  const low = String(value - high * 1_000_000);
  return String(high) + PAD[6 - low.length] + low;
}

/** `zone|congestion|vehicles|speed|received_at|reading_time`: about 40 bytes a sensor. */
export function encodeSensorStatus(s: Omit<SensorStatus, 'sensorId'>): string {
  return `${s.zoneId}${SEPARATOR}${numberText(s.congestionIndex)}${SEPARATOR}${numberText(s.vehicleCount)}${SEPARATOR}${numberText(s.avgSpeedKmh)}${SEPARATOR}${integerText(s.receivedAtMs)}${SEPARATOR}${integerText(s.readingAtMs)}`;
}

/**
 * The status a value holds, or undefined for anything that is not one (so a bad item never breaks
 * a snapshot). Read field by field (50,000 of these a second in a busy console API).
 */
export function decodeSensorStatus(sensorId: string, value: string): SensorStatus | undefined {
  const fields: number[] = [];
  let start = value.indexOf(SEPARATOR);
  if (start <= 0) return undefined;
  const zoneId = value.slice(0, start);
  for (let i = 0; i < 5; i++) {
    const end = value.indexOf(SEPARATOR, start + 1);
    if ((end === -1) !== (i === 4)) return undefined;
    const text = value.slice(start + 1, end === -1 ? undefined : end);
    const n = text === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(n)) return undefined;
    fields.push(n);
    start = end;
  }
  return { sensorId, zoneId, congestionIndex: fields[0]!, vehicleCount: fields[1]!, avgSpeedKmh: fields[2]!, receivedAtMs: fields[3]!, readingAtMs: fields[4]! };
}

/**
 * A controller's acknowledgement, kept on the sensor's alert-state item in attributes the processor
 * never writes (its writes SET only its own attributes, conditioned on `version`, which an
 * acknowledgement never changes: neither write can fail or undo the other). An acknowledgement
 * names the alert it acknowledges by its level and the time the sensor entered it (the alert
 * state's `last_alert_at[level]`), so a new alert of the same sensor starts unacknowledged.
 */
export const ACK_ATTRIBUTES = {
  by: 'ack_by',
  at: 'ack_at',
  level: 'ack_level',
  since: 'ack_since',
} as const;

/**
 * The alert-state attributes the console reads (written by the processor, contract/names.ts and
 * handlers/processor/adapters/alert-store.ts).
 */
export const ALERT_STATE_ATTRIBUTES = {
  sensorId: ALERT_STATE_TABLE.partitionKey,
  zone: 'zone_id',
  level: 'level',
  /** Map level → epoch ms (receive time) of the reading behind the last alert into that level. */
  lastAlertAt: 'last_alert_at',
  /** ISO-8601 time of the item's last change. */
  updatedAt: 'updated_at',
} as const;

/**
 * A secondary index of the alert state by zone and time of the last change: a zone's recent alerts
 * (those that cleared included) are one Query, never a Scan. It projects what an alert sentence
 * needs, so no item is read twice.
 */
export const ALERT_ZONE_INDEX = {
  name: 'zone-updated-index',
  partitionKey: ALERT_STATE_ATTRIBUTES.zone,
  sortKey: ALERT_STATE_ATTRIBUTES.updatedAt,
  projected: [ALERT_STATE_ATTRIBUTES.level, ALERT_STATE_ATTRIBUTES.lastAlertAt, ...Object.values(ACK_ATTRIBUTES)],
} as const;

/** Cognito groups whose members may use the console (both may acknowledge alerts). */
export const CONSOLE_GROUPS = ['controllers', 'supervisors'] as const;
export type ConsoleGroup = (typeof CONSOLE_GROUPS)[number];

/**
 * The OAuth scope every API route requires: only access tokens carry scopes, so an ID token (or a
 * token for another resource) is refused by the authorizer itself. Cognito writes a resource
 * server's scopes as `<identifier>/<scope>`.
 */
export const CONSOLE_SCOPE = { resourceServer: 'tapstack-console', name: 'api', full: 'tapstack-console/api' } as const;

/** The console API's routes (`<METHOD> <path>`, HTTP API route keys); the template makes one route each. */
export const CONSOLE_ROUTES = {
  city: 'GET /api/city',
  zone: 'GET /api/zones/{zoneId}',
  alerts: 'GET /api/alerts',
  sensorRollups: 'GET /api/sensors/{sensorId}/rollups',
  sensors: 'GET /api/sensors',
  acknowledge: 'POST /api/alerts/acknowledge',
} as const;
export type ConsoleRoute = keyof typeof CONSOLE_ROUTES;

/** The resources the console API reads, and the one it writes (the acknowledgement, granted on its own in the template). */
export const CONSOLE_RESOURCES = {
  sensorStatusTableName: sameResource(PROCESSOR_RESOURCES.sensorStatusTableName, [{ sid: 'ReadSensorStatus', actions: ['dynamodb:Scan'] }]),
  alertStateTableName: sameResource(PROCESSOR_RESOURCES.alertStateTableName, [
    { sid: 'ReadAlertState', actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'] },
    { sid: 'FindActiveAlerts', actions: ['dynamodb:Scan'], index: ALERT_STATE_TABLE.elevatedIndexName },
    { sid: 'FindRecentAlerts', actions: ['dynamodb:Query'], index: ALERT_ZONE_INDEX.name },
  ]),
  readingsTableName: sameResource(PROCESSOR_RESOURCES.readingsTableName, [{ sid: 'ReadSensorRollups', actions: ['dynamodb:Query'] }]),
} as const satisfies Record<string, ResourceBinding>;

export type ConsoleResource = keyof typeof CONSOLE_RESOURCES;

/** The readings table attributes a sensor's rollups are shown from. */
export const ROLLUP_VIEW = {
  windowStart: READINGS_TABLE.sortKey,
  count: READINGS_TABLE.countAttribute,
  last: READINGS_TABLE.lastReadingAttribute,
} as const;

/**
 * The page's Content-Security-Policy: everything from its own origin, no inline script or style, no
 * eval, never framed; `connect` adds the sign-in endpoints' origins, `img` the map tiles' origin.
 * The template's response-headers policy and the local server send the same string.
 */
export function consoleContentSecurityPolicy(origins: { connect?: readonly string[]; img?: readonly string[] } = {}): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    ['img-src', "'self'", 'data:', ...(origins.img ?? [])].join(' '),
    ['connect-src', "'self'", ...(origins.connect ?? [])].join(' '),
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** HSTS for the console: two years, subdomains included (the value the response-headers policy sets). */
export const CONSOLE_HSTS_MAX_AGE_SECONDS = 63_072_000;
