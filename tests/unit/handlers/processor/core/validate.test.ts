import { describe, expect, it } from 'vitest';
import { toInputRecords } from '../../../../../handlers/processor/handler';
import { LIMITS } from '../../../../../contract';
import fc from 'fast-check';
import { canonicalUtcToMs, validateRecord } from '../../../../../handlers/processor/core/validate';
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
