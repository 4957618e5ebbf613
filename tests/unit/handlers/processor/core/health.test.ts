/** core/health.ts: planHealth, what the silent-sensor detector changes on a run, and the reporting cut-off. */
import { describe, expect, it } from 'vitest';
import { readDetectorConfig } from '../../../../../handlers/detector/detector';
import { planHealth, reportingCutoffMs, sightings, type HealthItem } from '../../../../../handlers/processor/core/health';
import { detectorEnv } from '../../../../../scripts/lib/processor-env';

const config = readDetectorConfig(detectorEnv());
const WINDOW_MS = config.rollupWindowSeconds * 1000;
const T0 = Date.parse('2026-12-01T08:00:00.000Z');

describe('planHealth', () => {
  const item = (sensorId: string, state: HealthItem['state'], extra: Partial<HealthItem> = {}): HealthItem => ({
    sensorId,
    zoneId: 'z',
    state,
    version: 3,
    changedAt: 0,
    ...extra,
  });
  const seen = (...ids: string[]) => sightings(ids.map((sensorId) => ({ sensorId, zoneId: 'z', windowStartMs: T0 })));

  it('changes nothing about a sensor whose last event is still to be published, except republishing a lapsed claim', () => {
    const pending = JSON.stringify({ event_id: 'x' });
    const plan = planHealth(
      [item('held', 'SILENT', { pendingEvent: pending, claimUntil: T0 + 1 }), item('lapsed', 'SILENT', { pendingEvent: pending, claimUntil: T0 - 1 })],
      seen('held', 'lapsed'),
      T0,
    );
    expect(plan.actions.map((a) => [a.kind, a.kind === 'insert' ? a.sighting.sensorId : a.item.sensorId])).toEqual([['republish', 'lapsed']]);
  });

  it('declares no silence while most of the fleet looks silent (the pipeline is down or behind), but lets recoveries through', () => {
    const known = Array.from({ length: 30 }, (_, i) => item(`s${i}`, i === 0 ? 'SILENT' : 'REPORTING'));
    const outage = planHealth(known, seen('s0', 's1', 's2'), T0);
    expect(outage.silencesHeld).toBe(27);
    expect(outage.actions.map((a) => [a.kind, a.kind === 'transition' ? a.to : ''])).toEqual([['transition', 'REPORTING']]);
    // A third of the fleet silent is still sensors, not the pipeline.
    const many = planHealth(known, seen(...known.slice(0, 20).map((k) => k.sensorId)), T0);
    expect(many.silencesHeld).toBe(0);
    expect(many.actions.filter((a) => a.kind === 'transition' && a.to === 'SILENT')).toHaveLength(10);
  });

  it('counts the current window and SilentSensorPeriods whole windows before it as reporting', () => {
    expect(reportingCutoffMs(T0 + 59_999, config)).toBe(T0 - 5 * WINDOW_MS);
    expect(reportingCutoffMs(T0 + 60_000, config)).toBe(T0 - 4 * WINDOW_MS);
  });
});
