/** reading.ts: the hand-written hot-path check against the codecs, and exampleReading. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exampleReading, FAST_CHECKED_FIELDS, isCanonicalTimestamp, isValidReading, isValidReadingFast, READING_FIELDS } from '../../../contract';
import { toInputRecords } from '../../../handlers/processor/handler';
import { validateRecord } from '../../../handlers/processor/core/validate';
import { kinesisEvent, reading } from '../../helpers/kinesis';
import { TEST_CONFIG } from '../../helpers/processor-config';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const isValid = (payload: Parameters<typeof kinesisEvent>[0][number]) =>
  typeof validateRecord(toInputRecords(kinesisEvent([payload]))[0]!, TEST_CONFIG, NOW) !== 'string';

describe('isValidReadingFast (the hand-written hot path)', () => {
  const anyValue = fc.oneof(
    fc.string(),
    fc.constantFrom('sensor-1', 'zone-1', 'a#b', '', 'x'.repeat(129), '2026-11-22T12:00:00.000Z', '2026-11-22T12:00:00+02:00', '2026-1x-22T12:00:00.000Z', 'rain\u0000', 'léger'),
    fc.double(),
    fc.integer({ min: -20, max: 20_000 }),
    fc.constantFrom(0, 100, 300, 10_000, -80, 80, 100.5, -0.1, Number.MAX_SAFE_INTEGER, 2 ** 60),
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.array(fc.integer(), { maxLength: 2 }),
  );
  const fields = Object.keys(READING_FIELDS);
  const candidate = fc.oneof(
    fc.record(Object.fromEntries(fields.map((f) => [f, anyValue])), { requiredKeys: [] }),
    fc.record({
      sensor_id: fc.constantFrom('sensor-1', 's', 'x'.repeat(128), 'x'.repeat(129), '', 'a b', 'ü'),
      zone_id: fc.constantFrom('zone-1', 'z.9:_-', 'z'.repeat(64), 'z'.repeat(65), 'a#b', ''),
      timestamp: fc.oneof(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
        fc.constantFrom('2026-11-22T12:00:00Z', '2026-11-22 12:00:00.000Z', '2026-11-22T12:00:00.000+', '+02026-11-22T12:00:00.000Z'),
      ),
      vehicle_count: fc.integer({ min: -1, max: 10_001 }),
      avg_speed: fc.double({ min: -1, max: 301, noNaN: true }),
      congestion_index: fc.double({ min: -1, max: 101, noNaN: true }),
      temperature: fc.option(fc.double({ min: -81, max: 81 }), { nil: undefined }),
      weather_condition: fc.option(fc.string({ maxLength: 70 }), { nil: undefined }),
    }),
  );

  it('never accepts what the io-ts codecs refuse', () => {
    fc.assert(
      fc.property(candidate, (value) => {
        if (isValidReadingFast(value)) expect(isValidReading(value)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('accepts the readings sensors send (canonical timestamps, ASCII descriptions): the codecs run only for the rest', () => {
    expect(isValidReadingFast(reading(1, NOW))).toBe(true);
    const { temperature: _, weather_condition: __, received_at: ___, thing_name: ____, ...required } = reading(1, NOW);
    expect(isValidReadingFast(required)).toBe(true);
    // Left to the codecs: an offset timestamp, non-ASCII text (both valid), and anything invalid.
    expect(isValidReadingFast(reading(1, NOW, { timestamp: '2026-11-22T13:59:59+02:00' }))).toBe(false);
    expect(isValidReadingFast(reading(1, NOW, { weather_condition: '雷雨' }))).toBe(false);
  });

  it('checks every field the sensor sends', () => {
    const sentBySensor = Object.entries(READING_FIELDS).filter(([, f]) => (f as { setBy?: string }).setBy !== 'rule');
    expect([...FAST_CHECKED_FIELDS].sort()).toEqual(sentBySensor.map(([name]) => name).sort());
  });
});

describe('isCanonicalTimestamp (toISOString form, checked once per reading)', () => {
  it('accepts exactly YYYY-MM-DDTHH:MM:SS.sssZ, digit by digit and separator by separator', () => {
    const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    const canonical = fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());
    // One character of a canonical timestamp replaced, inserted or removed.
    const mangled = fc
      .tuple(canonical, fc.nat(23), fc.constantFrom('-', ':', 'T', '.', 'Z', 'z', ' ', '/', '0', '9', 'a', '\u0660', '\uff10', '+'), fc.constantFrom(0, 1, 2))
      .map(([ts, at, c, how]) => (how === 0 ? ts.slice(0, at) + c + ts.slice(at + 1) : how === 1 ? ts.slice(0, at) + c + ts.slice(at) : ts.slice(0, at) + ts.slice(at + 1)));
    fc.assert(
      fc.property(fc.oneof(canonical, mangled, fc.string({ maxLength: 26 }), fc.constantFrom(undefined, 0, null, '2026-11-22T12:00:00+02:00', '+020000-01-01T00:00:00.000Z')), (value) => {
        expect(isCanonicalTimestamp(value)).toBe(typeof value === 'string' && CANONICAL.test(value));
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('exampleReading (what every maker of readings starts from)', () => {
  const required = Object.entries(READING_FIELDS)
    .filter(([, f]) => f.required && (f as { setBy?: string }).setBy !== 'rule')
    .map(([name]) => name);

  it('is a valid reading of exactly the required fields the sensor sends, each at its example', () => {
    const example = exampleReading();
    expect(Object.keys(example)).toEqual(required);
    for (const name of required) expect(example[name as keyof typeof example], `${name} has no example in READING_FIELDS`).toBeDefined();
    expect(isValidReading(example)).toBe(true);
    expect(isValidReadingFast(example)).toBe(true);
  });

  it('takes the sensor values given over the examples, in READING_FIELDS order, and adds the rest', () => {
    const made = exampleReading({ congestion_index: 91, sensor_id: 'sensor-7', temperature: 3 });
    expect(made).toMatchObject({ sensor_id: 'sensor-7', congestion_index: 91, temperature: 3 });
    expect(Object.keys(made)).toEqual([...required, 'temperature']);
    expect(isValidReading(made)).toBe(true);
  });

  it('is what the tests, the benchmark and the example device command send, so a new required field reaches them', () => {
    const fromHelper = reading(3, NOW);
    for (const name of required) expect(fromHelper).toHaveProperty(name);
    expect(isValid(fromHelper)).toBe(true);
  });
});
