import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { READING_FIELDS } from '../../../../../contract';
import { SCANNED_FIELDS, scanPayload } from '../../../../../handlers/processor/core/scan-payload';
import { validateRecord, ValidReading } from '../../../../../handlers/processor/core/validate';
import { toInputRecords } from '../../../../../handlers/processor/handler';
import { kinesisEvent, reading } from '../../../../helpers/kinesis';
import { TEST_CONFIG } from '../../../../helpers/processor-config';

const SENSOR = 'sensor-00001';
const ZONE = 'zone-1';
const scan = (bytes: Buffer, sensorId = SENSOR, zoneId: string | undefined = ZONE) => scanPayload(bytes, 0, bytes.length, sensorId, zoneId);

/** JSON.parse of the payload's UTF-8 text (as the processor reads a payload the scan leaves), or 'throws'. */
const viaJson = (bytes: Buffer): unknown => {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'throws';
  }
};

/** The scan's reading is JSON.parse's, value for value (Object.is: -0 is not 0), with no key JSON.parse has left out. */
function expectSameAsJson(bytes: Buffer, scanned: object): void {
  const parsed = viaJson(bytes) as Record<string, unknown>;
  expect(parsed).toBeTypeOf('object');
  for (const key of Object.keys(parsed)) expect(SCANNED_FIELDS as readonly string[]).toContain(key);
  for (const field of SCANNED_FIELDS) {
    const got = (scanned as Record<string, unknown>)[field];
    if (!Object.is(got, parsed[field])) expect.fail(`${field}: scanned ${String(got)}, JSON.parse ${String(parsed[field])} in ${bytes.toString('utf8')}`);
  }
}

/** Text a sensor's string field may hold as the scan reads it: printable ASCII but `"` and `\`, and any non-ASCII character. */
const plainText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x5c).map((c) => String.fromCharCode(c)), maxLength: 24 }),
  fc.constantFrom('clear', 'léger brouillard ☁', '小雨', 'zone-1', SENSOR),
);
/** Numbers as JSON.stringify writes a sensor's measurements: at most 15 digits, no exponent. */
const plainNumber = fc.tuple(fc.integer({ min: -10_000_000, max: 10_000_000 }), fc.nat({ max: 4 })).map(([m, k]) => m / 10 ** k);
const sensorRecord = fc
  .record(
    {
      sensor_id: fc.oneof(fc.constant(SENSOR), plainText),
      zone_id: fc.oneof(fc.constant(ZONE), plainText),
      timestamp: fc.oneof(fc.constant('2026-11-22T12:00:00.000Z'), plainText),
      vehicle_count: plainNumber,
      avg_speed: plainNumber,
      congestion_index: plainNumber,
      temperature: plainNumber,
      weather_condition: plainText,
    },
    { requiredKeys: ['sensor_id', 'zone_id', 'timestamp', 'vehicle_count', 'avg_speed', 'congestion_index'] },
  )
  .chain((r) => fc.shuffledSubarray(Object.keys(r), { minLength: Object.keys(r).length }).map((order) => ({ r: r as Record<string, unknown>, order })));
const sensorForm = sensorRecord.map(({ r, order }) => Buffer.from(JSON.stringify(r, order)));

describe('scanPayload (a sensor payload read without JSON.parse)', () => {
  it('scans the fields the sensor sends: those of READING_FIELDS that IoT Core does not set', () => {
    const sentBySensor = Object.entries(READING_FIELDS)
      .filter(([, f]) => !('setBy' in f && f.setBy === 'rule'))
      .map(([name]) => name);
    expect([...SCANNED_FIELDS].sort()).toEqual(sentBySensor.sort());
    // Each is read into the reading under its own name.
    const values: Record<string, string | number> = { sensor_id: SENSOR, zone_id: ZONE, timestamp: '2026-11-22T12:00:00.000Z', vehicle_count: 3, avg_speed: 4.5, congestion_index: 6.5, temperature: -7.25, weather_condition: 'fog' };
    expect(Object.keys(values).sort()).toEqual(sentBySensor.sort());
    expect({ ...scan(Buffer.from(JSON.stringify(values))) }).toEqual(values);
  });

  it('reads every payload in the form sensors send, keys in any order, as JSON.parse does', () => {
    fc.assert(
      fc.property(sensorForm, (bytes) => {
        const scanned = scan(bytes);
        expect(scanned, bytes.toString('utf8')).toBeDefined();
        expectSameAsJson(bytes, scanned!);
      }),
      { numRuns: 3_000 },
    );
  });

  it('answers as JSON.parse does, or leaves the payload to it, whatever the bytes', () => {
    const numberText = fc.oneof(
      fc.double().map((x) => String(JSON.stringify(x))),
      fc.constantFrom('-0', '-0.0', '0', '00', '01', '-01', '1.', '.5', '1e5', '1E-2', '-', '1.50', '0.000001', '123456789012345', '1234567890123456', '12345678901234.5', '9007199254740993', '0.1', '2.675'),
      fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.nat({ max: 20 })).map(([m, k]) => {
        const digits = m.toString().padStart(k + 1, '0');
        return k === 0 ? digits : `${digits.slice(0, -k)}.${digits.slice(-k)}`;
      }),
    );
    const anyText = fc.oneof(plainText, fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }));
    const value = (field: string) =>
      READING_FIELDS[field as keyof typeof READING_FIELDS].column === 'string'
        ? fc.oneof({ weight: 4, arbitrary: anyText.map((t) => JSON.stringify(t)) }, fc.constantFrom('1', 'null', 'true', '{}', '["a"]', '"a\\"b"', '"\\u0041"'))
        : fc.oneof({ weight: 4, arbitrary: numberText }, fc.constantFrom('"12"', 'null', 'false', '[]'));
    const key = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...SCANNED_FIELDS) }, fc.constantFrom('received_at', 'thing_name', 'extra', 'sensor_id ', 'Sensor_id', 'zone'));
    const member = key.chain((k) => (k in READING_FIELDS ? value(k) : fc.oneof(numberText, anyText.map((t) => JSON.stringify(t)))).map((v) => `${JSON.stringify(k)}:${v}`));
    const objects = fc.array(member, { maxLength: 10 }).map((members) => `{${members.join(',')}}`);
    const mangled = fc
      .tuple(fc.oneof(sensorForm, objects.map((t) => Buffer.from(t))), fc.nat(), fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.constantFrom(...[' ', '\n', ',', '"', '\\', '}', '{', ':', '.', 'e', '-', '0', '\u0001', 'é'].map((c) => Buffer.from(c)))), fc.boolean())
      .map(([bytes, at, insert, replace]) => {
        const i = at % (bytes.length + 1);
        return Buffer.concat([bytes.subarray(0, i), insert, bytes.subarray(replace ? i + 1 : i)]);
      });
    // A payload in the sensors' form but for one value, written as any of the above.
    const oneOff = sensorRecord.chain(({ r, order }) =>
      fc.nat().chain((n) => {
        const odd = order[n % order.length]!;
        return value(odd).map((v) => Buffer.from(`{${order.map((k) => `${JSON.stringify(k)}:${k === odd ? v : JSON.stringify(r[k])}`).join(',')}}`));
      }),
    );
    fc.assert(
      fc.property(fc.oneof(sensorForm, oneOff, objects.map((t) => Buffer.from(t)), mangled, fc.json().map((t) => Buffer.from(t))), (bytes) => {
        const scanned = scan(bytes);
        if (viaJson(bytes) === 'throws') expect(scanned, bytes.toString('utf8')).toBeUndefined();
        if (scanned !== undefined) expectSameAsJson(bytes, scanned);
      }),
      { numRuns: 5_000 },
    );
  });

  it('takes the string it was given only when the bytes are its characters as JSON writes them', () => {
    // 0xE9 alone is not UTF-8: the text (and so JSON.parse) has U+FFFD there, not "é" (whose code is 0xE9).
    const bytes = Buffer.concat([Buffer.from('{"sensor_id":"'), Buffer.from([0xe9]), Buffer.from('","zone_id":"z","timestamp":"t","vehicle_count":1,"avg_speed":2,"congestion_index":3}')]);
    const scanned = scan(bytes, 'é', 'z');
    expect(scanned?.sensor_id).toBe('\ufffd');
    expectSameAsJson(bytes, scanned!);
    expect(scan(Buffer.from('{"sensor_id":"a","zone_id":"b","timestamp":"t","vehicle_count":1,"avg_speed":2,"congestion_index":3}'), 'a', 'bb')?.zone_id).toBe('b');
  });
});

describe('validateRecord with the scan', () => {
  afterEach(() => vi.restoreAllMocks());
  const check = (payload: Parameters<typeof kinesisEvent>[0][number], now: number) => validateRecord(toInputRecords(kinesisEvent([payload]))[0]!, TEST_CONFIG, now);
  const NOW = Date.parse('2026-11-22T12:00:00Z');

  it.each([
    ['ASCII', 'clear'],
    ['non-ASCII', 'léger brouillard ☁'],
  ])('reads a reading in the form sensors send (weather text %s) without JSON.parse, and one in another form with it, to the same reading', (_, weather) => {
    const records = toInputRecords(kinesisEvent([reading(1, NOW - 1000, { temperature: -3.25, weather_condition: weather }), reading(1, NOW - 1000, { temperature: -3.25, weather_condition: weather, firmware: '1.2' } as never)]));
    const parse = vi.spyOn(JSON, 'parse');
    const scanned = validateRecord(records[0]!, TEST_CONFIG, NOW);
    expect(parse).not.toHaveBeenCalled();
    expect(scanned).toBeInstanceOf(ValidReading);
    expect(scanned).toMatchObject({ weather_condition: weather, temperature: -3.25 });
    // A key the scan does not know (the lake keeps it): read by JSON.parse, the same reading.
    const parsed = validateRecord(records[1]!, TEST_CONFIG, NOW);
    expect(parse).toHaveBeenCalled();
    expect({ ...(parsed as object), recordIndex: 0 }).toEqual({ ...(scanned as object), recordIndex: 0 });
  });

  it('describes a scanned reading that fails the schema as JSON.parse and io-ts do', () => {
    expect(check(reading(1, NOW - 1000, { vehicle_count: -4 }), NOW)).toMatch(/^vehicle_count/);
    expect(check(reading(1, NOW - 1000, { avg_speed: 12.5, congestion_index: 101 }), NOW)).toMatch(/^congestion_index/);
  });
});
