/** console.ts: the sensor status as the processor encodes it and the console decodes it. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSensorStatus, encodeSensorStatus, integerText, numberText } from '../../../contract';

const T = Date.now() - 10_000;

describe('encodeSensorStatus / decodeSensorStatus', () => {
  it('round-trips a status and refuses anything that is not one', () => {
    const status = { zoneId: 'Z-3', congestionIndex: 87.5, vehicleCount: 12, avgSpeedKmh: 31.25, receivedAtMs: T, readingAtMs: T - 400 };
    expect(decodeSensorStatus('s1', encodeSensorStatus(status))).toEqual({ sensorId: 's1', ...status });
    for (const bad of ['', 'Z|1|2|3|4', '|1|2|3|4|5', 'Z|x|2|3|4|5', 'Z|1|2|3|4|5|6']) expect(decodeSensorStatus('s1', bad), bad).toBeUndefined();
  });

  it('writes each number as String does, its cached text of a value at one decimal included', () => {
    const tenths = fc.integer({ min: -20, max: 10_020 }).map((t) => t / 10);
    const near = fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(1e-12, -1e-12, 0.01, 0.05, 1 / 3)).map(([t, d]) => t / 10 + d);
    fc.assert(
      fc.property(fc.oneof(tenths, near, fc.double(), fc.constantFrom(-0, 0, 0.1 + 0.2, 1000, 1000.1, Number.NaN, Infinity)), (value) => {
        // Twice: the first may fill the cache, the second reads it.
        expect(numberText(value)).toBe(String(value));
        expect(numberText(value)).toBe(String(value));
      }),
      { numRuns: 5_000 },
    );
    const status = { zoneId: 'Z-3', congestionIndex: 0.1 + 0.2, vehicleCount: 7, avgSpeedKmh: 42.7, receivedAtMs: T, readingAtMs: T - 400 };
    expect(encodeSensorStatus(status)).toBe(`Z-3|${0.1 + 0.2}|7|42.7|${T}|${T - 400}`);
  });

  it('writes an integer as String does: epoch times through the split into small integers, anything else through String', () => {
    const epochs = fc.integer({ min: 2 ** 30, max: 1e15 - 1 });
    const edges = fc.constantFrom(2 ** 30 - 1, 2 ** 30, 1_000_000_000_000, 1_000_000_999_999, 1_000_001_000_000, 999_999_999_999_999, 1e15, 1e15 + 1, -(2 ** 31), 1796680049074.5, -0, Number.NaN, Infinity);
    fc.assert(
      fc.property(fc.oneof(epochs, fc.maxSafeInteger(), fc.integer(), fc.double(), edges), (value) => {
        expect(integerText(value)).toBe(String(value));
      }),
      { numRuns: 10_000 },
    );
    // The status's times go through it.
    const status = { zoneId: 'Z', congestionIndex: 1, vehicleCount: 2, avgSpeedKmh: 3, receivedAtMs: 1_796_680_000_074, readingAtMs: 1_796_680_049_000 };
    expect(encodeSensorStatus(status)).toBe('Z|1|2|3|1796680000074|1796680049000');
  });
});
