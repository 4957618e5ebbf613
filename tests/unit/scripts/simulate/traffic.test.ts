import { describe, expect, it } from 'vitest';
import { bands, cityLayout, reading, zoneLevel, BAD_KINDS, type TrafficOptions } from '../../../../scripts/simulate/traffic';

describe('the traffic', () => {
  const thresholds = { warning: 80, critical: 90, hysteresis: 5 };
  const traffic: TrafficOptions = { scenario: 'rush-hour', thresholds, wavePeriodSeconds: 10, daySeconds: 600, silentAfterSeconds: 5 };

  it('keeps each band clear of the hysteresis, so a reading sets its band level whatever came before', () => {
    expect(bands(thresholds)).toEqual({ NORMAL: [0, 74], WARNING: [81, 85], CRITICAL: [91, 100] });
  });

  it('sends every kind of bad reading from the broken sensors', () => {
    const { sensors } = cityLayout(20, 4);
    const broken = sensors.filter((s) => s.kind === 'bad');
    expect(broken.length).toBeGreaterThan(0);
    const kinds = new Set(Array.from({ length: BAD_KINDS.length }, (_, n) => reading(broken[0]!, 4, traffic, 1, Date.now(), n + 1, Math.random).bad));
    expect(kinds).toEqual(new Set(BAD_KINDS));
  });

  it('puts a third of the zones through WARNING and CRITICAL in each rush-hour wave, and back', () => {
    const levels = Array.from({ length: 10 }, (_, t) => zoneLevel(traffic, 0, 3, t));
    expect(levels).toEqual(['NORMAL', 'NORMAL', 'WARNING', 'WARNING', 'CRITICAL', 'CRITICAL', 'WARNING', 'NORMAL', 'NORMAL', 'NORMAL']);
    expect(Array.from({ length: 10 }, (_, t) => zoneLevel(traffic, 1, 3, t)).every((l) => l === 'NORMAL')).toBe(true);
  });
});
