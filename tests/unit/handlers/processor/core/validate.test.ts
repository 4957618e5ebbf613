import { describe, expect, it, onTestFinished } from 'vitest';
import { toInputRecords } from '../../../../../handlers/processor/handler';
import { LIMITS, READING_FIELDS, ruleRecord } from '../../../../../contract';
import fc from 'fast-check';
import { canonicalUtcToMs, MAX_RECORD_BYTES, parseJson, scanRuleRecord, validateRecord, ValidReading } from '../../../../../handlers/processor/core/validate';
import { Payloads } from '../../../../../handlers/processor/core/payloads';
import { analyseBatch } from '../../../../../handlers/processor/core/batch';
import { kinesisEvent, reading } from '../../../../helpers/kinesis';
import { TEST_CONFIG } from '../../../../helpers/processor-config';

const NOW = Date.parse('2026-11-22T12:00:00Z');
// The processor's configuration as the template's defaults set it (thresholds 80 / 90, 24 h retention).
const config = TEST_CONFIG;
const check = (payload: Parameters<typeof kinesisEvent>[0][number]) =>
  validateRecord(toInputRecords(kinesisEvent([payload]))[0]!, config, NOW);
const reasonOf = (payload: Parameters<typeof kinesisEvent>[0][number]) => {
  const result = check(payload);
  return typeof result === 'string' ? result : 'valid';
};
const isValid = (payload: Parameters<typeof kinesisEvent>[0][number]) => typeof check(payload) !== 'string';

describe('validateRecord', () => {
  it("quarantines a reading whose zone_id is not its sensor's registry zone, and keeps one that matches", () => {
    expect(reasonOf(reading(1, NOW, { zone_id: 'zone-9', registry_zone: 'zone-1' }))).toBe(
      'zone_id "zone-9" is not the registry zone "zone-1" of sensor "sensor-00001"',
    );
    expect(reasonOf(reading(1, NOW, { zone_id: 'zone-1', registry_zone: 'zone-1' }))).toBe('valid');
    expect(reasonOf(reading(1, NOW, { registry_zone: 7 as unknown as string }))).toBe('registry_zones: not a list of zones (the record was not made by the topic rule)');
  });

  it('takes the sensor from the partition key and the receive time from the rule, keeping the reading as the sensor sent it', () => {
    const result = check(reading(1, NOW - 1000, { received_at: NOW - 400 }));
    expect(result).toMatchObject({ sensor_id: 'sensor-00001', received_at: NOW - 400 });
    expect(result).not.toHaveProperty('thing_name');
    expect(result).not.toHaveProperty('registry_zone');
  });

  it('quarantines a record the topic rule did not make (no payload), with its reason', () => {
    const notARuleRecord = { base64: Buffer.from(JSON.stringify(reading(1, NOW))).toString('base64') };
    expect(reasonOf(notARuleRecord)).toBe('not a record of the topic rule: no payload');
    expect(reasonOf({ base64: Buffer.from('{"payload": ').toString('base64') })).toMatch(/^not a record of the topic rule: /);
  });

  it('accepts a reading in the brief format and normalises its timestamp', () => {
    const result = check(reading(1, NOW - 1000, { timestamp: '2026-11-22T13:59:59+02:00', congestion_index: 85, avg_speed: 30 }));
    expect(result).toMatchObject({
      sensor_id: 'sensor-00001',
      timestamp: '2026-11-22T11:59:59.000Z',
      timestampMs: Date.parse('2026-11-22T11:59:59Z'),
      congestion_level: 'WARNING',
      traffic_flow_score: 7.5,
    });
  });

  it('keeps a reading whose optional description is in any language, and quarantines only a control character or an over-long one', () => {
    expect(check(reading(1, NOW, { weather_condition: 'léger brouillard ☁' }))).toMatchObject({ weather_condition: 'léger brouillard ☁' });
    expect(isValid(reading(1, NOW, { weather_condition: '雷雨' }))).toBe(true);
    expect(reasonOf(reading(1, NOW, { weather_condition: 'x'.repeat(65) }))).toMatch(/^weather_condition: expected a weather condition \(1-64 printable characters\)/);
    expect(reasonOf(reading(1, NOW, { weather_condition: 'rain\u0000' }))).toMatch(/^weather_condition: /);
  });

  it('falls back to the Kinesis arrival time when the rule did not stamp the receive time', () => {
    const { received_at: _, ...withoutReceivedAt } = reading(1, NOW);
    const event = kinesisEvent([withoutReceivedAt], 'shardId-0', NOW + 42);
    const result = validateRecord(toInputRecords(event)[0]!, config, NOW);
    expect(typeof result !== 'string' && result.received_at).toBe(NOW + 42);
  });

  it.each([
    ['not base64', { base64: 'not base64!!' }, 'not base64'],
    ['not JSON', { raw: '{"sensor_id": ' }, /^not JSON: /],
    ['a JSON array', { raw: '[1,2]' }, /^reading: /],
    ['a missing field', (() => { const { zone_id: _, ...r } = reading(1, NOW); return r; })(), 'zone_id: expected a zone id (1-64 of A-Z a-z 0-9 _ . : -), got nothing (missing)'],
    ['a negative count', reading(1, NOW, { vehicle_count: -3 }), 'vehicle_count: expected an integer from 0 to 10000, got -3'],
    ['a fractional count', reading(1, NOW, { vehicle_count: 2.5 }), 'vehicle_count: expected an integer from 0 to 10000, got 2.5'],
    ['a speed over 300 km/h', reading(1, NOW, { avg_speed: 301 }), 'avg_speed: expected a number from 0 to 300, got 301'],
    ['a congestion index over 100', reading(1, NOW, { congestion_index: 100.5 }), 'congestion_index: expected a number from 0 to 100, got 100.5'],
    ['a negative congestion index', reading(1, NOW, { congestion_index: -1 }), 'congestion_index: expected a number from 0 to 100, got -1'],
    ['a string where a number belongs', { ...reading(1, NOW), avg_speed: '42' }, 'avg_speed: expected a number from 0 to 300, got "42"'],
    ['a zone id with #', reading(1, NOW, { zone_id: 'zone#1' }), /^zone_id: /],
    ['a timestamp without a time zone', reading(1, NOW, { timestamp: '2026-11-22T12:00:00' }), /^timestamp: expected an ISO-8601/],
    ['an impossible date', reading(1, NOW, { timestamp: '2026-13-45T12:00:00Z' }), /^timestamp: not a valid date/],
    ['a timestamp far in the future', reading(1, NOW + 3_600_000), 'timestamp: 3600 s in the future, limit 300 s'],
    ['a timestamp older than the retention', reading(1, NOW - 25 * 3_600_000), 'timestamp: older than the stream retention (24 h)'],
    ['a sensor id that is not the publishing thing', reading(1, NOW, { thing_name: 'sensor-99999' }), 'sensor_id "sensor-00001" does not match the publishing thing "sensor-99999"'],
    ['an oversize payload', { ...reading(1, NOW), padding: 'x'.repeat(LIMITS.maxReadingBytes) }, /^oversize: \d+ bytes, limit 4096$/],
  ])('quarantines %s with its reason', (_, payload, reason) => {
    const got = reasonOf(payload as Parameters<typeof kinesisEvent>[0][number]);
    if (typeof reason === 'string') expect(got).toBe(reason);
    else expect(got).toMatch(reason);
  });

  it("says why a payload or a record is not JSON in JSON.parse's words, and leaves V8's stack trace limit as it was", () => {
    const before = Error.stackTraceLimit;
    const limit = 17;
    Error.stackTraceLimit = limit;
    onTestFinished(() => {
      Error.stackTraceLimit = before;
    });
    let message = '';
    try {
      JSON.parse('{"sensor_id": ');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(reasonOf({ raw: '{"sensor_id": ' })).toBe(`not JSON: ${message}`);
    expect(reasonOf({ base64: Buffer.from('{"payload":').toString('base64') })).toMatch(/^not a record of the topic rule: /);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(() => parseJson('{')).toThrow(SyntaxError);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(parseJson('{"a":[1]}')).toEqual({ a: [1] });
  });

  it('accepts the boundaries of every range', () => {
    expect(isValid(reading(1, NOW, { vehicle_count: 0, avg_speed: 0, congestion_index: 0 }))).toBe(true);
    expect(isValid(reading(1, NOW, { avg_speed: 300, congestion_index: 100 }))).toBe(true);
    expect(isValid(reading(1, NOW + LIMITS.maxFutureSkewMs - 1000))).toBe(true);
  });

  it('reads canonical UTC timestamps exactly as Date.parse does', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (date) => {
        const ts = date.toISOString();
        expect(canonicalUtcToMs(ts)).toBe(Date.parse(ts));
      }),
      { numRuns: 2000 },
    );
    for (const impossible of ['2026-02-29T00:00:00.000Z', '2026-04-31T00:00:00.000Z', '2026-13-01T00:00:00.000Z', '2026-01-01T24:00:00.000Z']) {
      expect(canonicalUtcToMs(impossible)).toBeNaN();
    }
    expect(canonicalUtcToMs('2024-02-29T12:00:00.123Z')).toBe(Date.parse('2024-02-29T12:00:00.123Z'));
  });
});

describe('scanRuleRecord (the rule record read without JSON.parse)', () => {
  /** What JSON.parse makes of a record: the payload's bytes (lenient base64, as the processor decodes it), receive time and zones; undefined when it is not JSON. */
  const viaJson = (text: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return undefined;
    }
    const r = parsed as { payload?: unknown; received_at?: unknown; registry_zones?: unknown };
    if (typeof r !== 'object' || r === null || typeof r.payload !== 'string') return undefined;
    return { payload: Buffer.from(r.payload, 'base64'), received_at: r.received_at, registry_zones: r.registry_zones };
  };
  const viaScan = (text: string) => {
    const bytes = Buffer.from(text);
    const payloads = new Payloads([{ data: bytes.toString('base64') }], MAX_RECORD_BYTES);
    const scanned = scanRuleRecord(bytes, bytes.length, payloads, 0);
    if (scanned === undefined || typeof scanned === 'string') return scanned;
    return { payload: copyOf(payloads), received_at: scanned.received_at, registry_zones: scanned.registry_zones };
  };
  const copyOf = (payloads: Payloads) => {
    const out = Buffer.alloc(payloads.length(0));
    payloads.copy(0, out, 0);
    return out;
  };

  const zone = fc.oneof(fc.constantFrom('zone-1', 'downtown.north:3', ''), fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 8 }));
  const ruleRecords = fc
    .record({
      payload: fc.uint8Array({ maxLength: 400 }),
      receivedAt: fc.option(fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constant(1_795_348_740_121)), { nil: undefined }),
      zones: fc.option(fc.array(zone, { maxLength: 3 }), { nil: undefined }),
    })
    .map(({ payload, receivedAt, zones }) => ruleRecord(Buffer.from(payload), receivedAt, zones));

  it('reads every record the topic rule writes with ASCII zones, as JSON.parse does', () => {
    fc.assert(
      fc.property(ruleRecords, (text) => {
        const scanned = viaScan(text);
        const zones = (JSON.parse(text) as { registry_zones?: string[] }).registry_zones;
        const asciiZones = zones === undefined || zones.every((z) => /^[\x20-\x7e]*$/.test(z) && !z.includes('"') && !z.includes('\\'));
        const digits = String((JSON.parse(text) as { received_at?: number }).received_at ?? '').length;
        if (asciiZones && digits <= 15) expect(scanned).not.toBeUndefined();
        if (scanned !== undefined) expect(scanned).toEqual(viaJson(text));
      }),
      { numRuns: 500 },
    );
  });

  it('answers as JSON.parse does, or leaves the record to it, whatever the bytes', () => {
    const mangled = fc.tuple(ruleRecords, fc.nat(), fc.constantFrom(' ', '\\', '"', ',', '}', '{', '.5', 'e3', '-', '0', '\u0001', 'é', '\\/', '"payload":"QQ=="', '"x":1'), fc.boolean()).map(([text, at, insert, replace]) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + insert + text.slice(replace ? i + 1 : i);
    });
    const reordered = fc.tuple(fc.uint8Array({ maxLength: 60 }), fc.integer({ min: 0, max: 2 ** 60 }), fc.array(zone, { maxLength: 2 }), fc.constantFrom(0, 1, 2, 3, 4, 5)).map(([payload, receivedAt, zones, order]) => {
      const parts = [`"payload":${JSON.stringify(Buffer.from(payload).toString('base64'))}`, `"received_at":${receivedAt}`, `"registry_zones":${JSON.stringify(zones)}`];
      const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]][order]!;
      return `{${orders.map((k) => parts[k]).join(',')}}`;
    });
    fc.assert(
      fc.property(fc.oneof(mangled, reordered, fc.json(), fc.string()), (text) => {
        const scanned = viaScan(text);
        if (scanned !== undefined) expect(scanned).toEqual(viaJson(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it('gives back the room of a payload it decoded before leaving the record to JSON.parse: a batch of such records fits its payload store', () => {
    const NOW_MS = Date.parse('2026-11-22T12:00:00Z');
    // An extra key after the payload: the scan decodes the payload, then leaves the record to JSON.parse, which decodes it again.
    const records = toInputRecords(
      kinesisEvent(
        Array.from({ length: 50 }, (_, i) => {
          const sent = JSON.stringify(reading(1 + i, NOW_MS - 1000));
          const { received_at: _r, registry_zone: _z, thing_name: _t, ...fields } = reading(1 + i, NOW_MS - 1000);
          const text = `{"payload":${JSON.stringify(Buffer.from(JSON.stringify(fields)).toString('base64'))},"received_at":${NOW_MS - 900},"registry_zones":[${JSON.stringify(fields.zone_id)}],"extra":1}`;
          return { base64: Buffer.from(text).toString('base64'), partitionKey: (JSON.parse(sent) as { sensor_id: string }).sensor_id };
        }),
      ),
    );
    const batch = analyseBatch(records, { config, nowMs: NOW_MS });
    expect(batch.quarantined.map((q) => q.reason)).toEqual([]);
    expect(batch.sensors.flatMap((s) => s.readings)).toHaveLength(50);
  });
});

describe('ValidReading', () => {
  it('carries every field of READING_FIELDS the sensor sends, as sent, and nothing the sensor sent beyond them', () => {
    const NOW_MS = Date.parse('2026-11-22T12:00:00Z');
    const sensorFields = Object.entries(READING_FIELDS).filter(([, f]) => !('setBy' in f && f.setBy === 'rule'));
    // Every optional field the sensor sends, at its example (a new one without an example fails here, by name).
    const optional: Record<string, unknown> = {};
    for (const [name, f] of sensorFields) {
      if (f.required) continue;
      expect('example' in f ? f.example : undefined, `READING_FIELDS.${name} has no example`).toBeDefined();
      optional[name] = (f as { example: unknown }).example;
    }
    const sent = reading(1, NOW_MS - 1000, { ...optional, avg_speed: 37.5, extra_key: 'x' } as never);
    const result = check(sent);
    expect(result).toBeInstanceOf(ValidReading);
    for (const [name] of sensorFields) {
      expect((sent as unknown as Record<string, unknown>)[name], name).toBeDefined();
      expect((result as unknown as Record<string, unknown>)[name], name).toEqual((sent as unknown as Record<string, unknown>)[name]);
    }
    expect(result).not.toHaveProperty('extra_key');
  });
});
