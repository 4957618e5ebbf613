/**
 * A sensor's payload read from its bytes without JSON.parse, when it is in the form sensors send
 * (what JSON.stringify makes of a reading): `{"<key>":<value>,…}`, each key one of the fields the
 * sensor sends (SCANNED_FIELDS), in any order (a key twice: the last value, as in JSON.parse), a
 * text field's value a string without escapes or control characters, a number field's value a
 * plain decimal of at most 15 digits (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`, no exponent), no
 * whitespace. Pure.
 *
 * Anything else answers undefined, and the payload goes to JSON.parse as before: an unknown key
 * (one IoT Core sets, or anything the sensor adds), a value of another type, an escape,
 * whitespace, a longer number. For every payload the scan does read, the reading equals
 * JSON.parse's, value for value (a property test compares the two on any bytes):
 * - a number of at most 15 digits is an integer below 2^53, and 10^k is exact for k ≤ 22, so
 *   digits / 10^k is one correctly rounded division: the double JSON.parse gives (Clinger's fast
 *   path);
 * - a string without `"`, `\` or a byte below 0x20 is its bytes as text: Latin-1 when they are all
 *   ASCII, else UTF-8 (the payload's text is its UTF-8; the quotes around the value are ASCII, so the
 *   value decodes the same on its own, invalid sequences and all).
 *
 * Why: after the decode floor's own base64, JSON.parse of the payload (and the text made for it)
 * was the largest share of a valid reading's cost. The scan makes no text of the payload and no
 * string of a key, and takes the sensor id, the zone and the weather from strings it has already
 * (the record's partition key, the registry's zone, the last weather read) when the bytes are
 * theirs: the timestamp is the one string it makes. Scan and schema check 450-500 ns a reading,
 * the payload's text, JSON.parse and the check 690-760 (the benchmark's readings, a scratch
 * script). An earlier scan that made a string of every text value gained nothing.
 */
import { FAST_CHECKED_FIELDS, READING_FIELDS, type RawReading } from '../../../contract';

/**
 * The fields a sensor sends (those the hand-written schema check reads), in the order of their bit
 * in `seen`. Each is stored by name below: a field added to the contract and not here is a key the
 * scan does not know, which leaves the payload to JSON.parse.
 */
export const SCANNED_FIELDS = FAST_CHECKED_FIELDS;
const SENSOR_ID = SCANNED_FIELDS.indexOf('sensor_id');
const ZONE_ID = SCANNED_FIELDS.indexOf('zone_id');
const TIMESTAMP = SCANNED_FIELDS.indexOf('timestamp');
const WEATHER_CONDITION = SCANNED_FIELDS.indexOf('weather_condition');
const VEHICLE_COUNT = SCANNED_FIELDS.indexOf('vehicle_count');
const AVG_SPEED = SCANNED_FIELDS.indexOf('avg_speed');
const CONGESTION_INDEX = SCANNED_FIELDS.indexOf('congestion_index');
const TEMPERATURE = SCANNED_FIELDS.indexOf('temperature');

/** Each field's `"<key>":` as bytes, whether its value is text, and the bits of the required ones. */
const KEYS = SCANNED_FIELDS.map((f) => Array.from(Buffer.from(`"${f}":`)));
const IS_TEXT = SCANNED_FIELDS.map((f) => READING_FIELDS[f].column === 'string');
const REQUIRED = SCANNED_FIELDS.reduce((bits, f, k) => (READING_FIELDS[f].required ? bits | (1 << k) : bits), 0);

/** The scan's reading: every field the sensor may send, in one order (a fixed shape); an absent optional one undefined. */
class ScannedReading {
  sensor_id = '';
  zone_id = '';
  timestamp = '';
  vehicle_count = 0;
  avg_speed = 0;
  congestion_index = 0;
  temperature: number | undefined = undefined;
  weather_condition: string | undefined = undefined;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const ZERO = 0x30;
const NINE = 0x39;
/** Digits a scanned number may have: 10^15 < 2^53, so every such integer is exact. */
const MAX_DIGITS = 15;
const POWERS_OF_TEN = Array.from({ length: MAX_DIGITS + 1 }, (_, k) => 10 ** k);

/**
 * The weather condition last made a string of: sensors of a city report a handful of conditions
 * (one weather feed), so the next one is often the same text, taken instead of a new string.
 */
let lastWeather = '';

/** Whether `bytes[at, end)` starts with SCANNED_FIELDS[k]'s key (its opening quote checked by the caller). */
function isKeyAt(bytes: Buffer, at: number, end: number, k: number): boolean {
  const key = KEYS[k]!;
  if (end - at < key.length) return false;
  for (let i = 1; i < key.length; i++) if (bytes[at + i] !== key[i]) return false;
  return true;
}

/**
 * The key each key was last followed by (the last entry: the first key), in the payload read
 * before: a sensor sends its keys in one order, so the key there is most often that one, and it
 * is compared first, before the others in turn.
 */
const FOLLOWED_BY = new Int8Array(KEYS.length + 1);

/** Which of SCANNED_FIELDS' keys `bytes[at, end)` starts with (-1: none), `likely` tried first. */
function keyAt(bytes: Buffer, at: number, end: number, likely: number): number {
  if (isKeyAt(bytes, at, end, likely)) return likely;
  for (let k = 0; k < KEYS.length; k++) if (k !== likely && isKeyAt(bytes, at, end, k)) return k;
  return -1;
}

/**
 * Whether `bytes[from, end)` starts with `text` and a closing quote, `text` being characters a
 * scanned string may hold as they are (ASCII from 0x20, not `"` nor `\`): then the string value
 * there is `text`, the very string.
 */
function isStringAt(bytes: Buffer, from: number, end: number, text: string): boolean {
  const length = text.length;
  if (from + length >= end || bytes[from + length] !== QUOTE) return false;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (bytes[from + i] !== c || c < 0x20 || c >= 0x80 || c === QUOTE || c === BACKSLASH) return false;
  }
  return true;
}

/**
 * The reading in `bytes[start, end)`, or undefined when it is not in the form above. `sensorId` and
 * `zoneId` are strings the value is likely to equal (the record's partition key, the registry's
 * zone), taken instead of a new string when the bytes are theirs.
 */
export function scanPayload(bytes: Buffer, start: number, end: number, sensorId: string, zoneId: string | undefined): RawReading | undefined {
  if (end - start < 2 || bytes[start] !== OPEN_BRACE || bytes[end - 1] !== CLOSE_BRACE) return undefined;
  const reading = new ScannedReading();
  let seen = 0;
  let at = start + 1;
  let previous = KEYS.length;
  for (;;) {
    if (bytes[at] !== QUOTE) return undefined;
    const k = keyAt(bytes, at, end, FOLLOWED_BY[previous]!);
    if (k < 0) return undefined;
    // A key twice: the value read last stands, as in JSON.parse.
    seen |= 1 << k;
    FOLLOWED_BY[previous] = k;
    previous = k;
    at += KEYS[k]!.length;
    if (IS_TEXT[k]) {
      if (bytes[at] !== QUOTE) return undefined;
      const first = ++at;
      // The string the value most likely is, compared first: no new string, and the bytes read once.
      const likely = k === SENSOR_ID ? sensorId : k === ZONE_ID ? zoneId : k === WEATHER_CONDITION ? lastWeather : undefined;
      let text: string;
      if (likely !== undefined && isStringAt(bytes, first, end, likely)) {
        text = likely;
        at = first + likely.length + 1;
      } else {
        let ascii = true;
        for (;;) {
          if (at >= end) return undefined;
          const b = bytes[at]!;
          if (b === QUOTE) break;
          if (b < 0x20 || b === BACKSLASH) return undefined;
          if (b >= 0x80) ascii = false;
          at++;
        }
        text = bytes.toString(ascii ? 'latin1' : 'utf8', first, at++);
        if (k === WEATHER_CONDITION && ascii) lastWeather = text;
      }
      if (k === SENSOR_ID) reading.sensor_id = text;
      else if (k === ZONE_ID) reading.zone_id = text;
      else if (k === TIMESTAMP) reading.timestamp = text;
      else if (k === WEATHER_CONDITION) reading.weather_condition = text;
      else return undefined;
    } else {
      const negative = bytes[at] === MINUS;
      if (negative) at++;
      const first = at;
      let digits = 0;
      while (at < end && bytes[at]! >= ZERO && bytes[at]! <= NINE) digits = digits * 10 + bytes[at++]! - ZERO;
      const whole = at - first;
      if (whole === 0 || (whole > 1 && bytes[first] === ZERO)) return undefined;
      let decimals = 0;
      if (bytes[at] === DOT) {
        const point = ++at;
        while (at < end && bytes[at]! >= ZERO && bytes[at]! <= NINE) digits = digits * 10 + bytes[at++]! - ZERO;
        decimals = at - point;
        if (decimals === 0) return undefined;
      }
      if (whole + decimals > MAX_DIGITS) return undefined;
      const magnitude = decimals === 0 ? digits : digits / POWERS_OF_TEN[decimals]!;
      const value = negative ? -magnitude : magnitude;
      if (k === VEHICLE_COUNT) reading.vehicle_count = value;
      else if (k === AVG_SPEED) reading.avg_speed = value;
      else if (k === CONGESTION_INDEX) reading.congestion_index = value;
      else if (k === TEMPERATURE) reading.temperature = value;
      else return undefined;
    }
    if (at === end - 1) break;
    if (bytes[at++] !== COMMA) return undefined;
  }
  if ((seen & REQUIRED) !== REQUIRED) return undefined;
  return reading as RawReading;
}
