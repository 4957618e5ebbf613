import { describe, expect, it } from 'vitest';
import { decide, initialState, nextLevel, type AlertState } from '../../handlers/processor/core/alerts';
import { enrich } from '../helpers/readings';
import type { Level, Reading } from '../../handlers/processor/core/types';

const thresholds = { warning: 80, critical: 90, hysteresis: 5 };
const policy = { thresholds, cooldownMs: 300_000 };
const T = Date.parse('2026-11-22T12:00:00Z');
const readings = (indices: number[], startS = 0) =>
  indices.map((ci, i) =>
    enrich(
      {
        sensor_id: 's1',
        zone_id: 'z',
        timestamp: new Date(T + (startS + i) * 1000).toISOString(),
        timestampMs: T + (startS + i) * 1000,
        vehicle_count: 1,
        avg_speed: 10,
        congestion_index: ci,
        received_at: T + (startS + i) * 1000,
      } satisfies Reading,
      thresholds,
    ),
  );

describe('nextLevel', () => {
  it.each<[Level, number, Level]>([
    ['NORMAL', 80, 'NORMAL'],
    ['NORMAL', 81, 'WARNING'],
    ['NORMAL', 95, 'CRITICAL'],
    ['WARNING', 76, 'WARNING'],
    ['WARNING', 75, 'NORMAL'],
    ['WARNING', 91, 'CRITICAL'],
    ['CRITICAL', 86, 'CRITICAL'],
    ['CRITICAL', 85, 'WARNING'],
    ['CRITICAL', 75, 'NORMAL'],
  ])('%s at %d → %s', (from, index, to) => {
    expect(nextLevel(from, index, thresholds)).toBe(to);
  });
});

describe('decide', () => {
  it('publishes every transition of a batch in order, with deterministic ids', () => {
    const d = decide(initialState('s1'), readings([50, 85, 95, 70]), policy, 'now');
    expect(d.alerts.map((a) => `${a.previous_level}->${a.level}@${a.threshold}`)).toEqual([
      'NORMAL->WARNING@80',
      'WARNING->CRITICAL@90',
      'CRITICAL->NORMAL@90',
    ]);
    expect(d.next).toMatchObject({ level: 'NORMAL', version: 1 });
    expect(d.next.pending).toEqual(d.alerts);
    const again = decide(initialState('s1'), readings([50, 85, 95, 70]), policy, 'later');
    expect(again.alerts.map((a) => a.alert_id)).toEqual(d.alerts.map((a) => a.alert_id));
  });

  it('does nothing when the level does not change', () => {
    const state: AlertState = { ...initialState('s1'), level: 'WARNING', version: 3 };
    const d = decide(state, readings([82, 78, 84]), policy, 'now');
    expect(d).toMatchObject({ alerts: [], changed: false, next: { version: 3, level: 'WARNING' } });
  });

  it('decides nothing new when a batch is replayed on the state it produced', () => {
    const first = decide(initialState('s1'), readings([85]), policy, 'now');
    const replay = decide({ ...first.next, pending: [] }, readings([85]), policy, 'now');
    expect(replay.alerts).toEqual([]);
    expect(replay.changed).toBe(false);
  });

  it('suppresses a repeat into the same level within the cooldown, but still follows the level', () => {
    const first = decide(initialState('s1'), readings([85, 70]), policy, 'now');
    expect(first.alerts).toHaveLength(2);
    const second = decide({ ...first.next, pending: [] }, readings([86], 60), policy, 'now');
    expect(second.alerts).toEqual([]);
    expect(second.suppressed).toBe(1);
    expect(second.next.level).toBe('WARNING');
    const later = decide({ ...first.next, pending: [] }, readings([86], 400), policy, 'now');
    expect(later.alerts.map((a) => a.level)).toEqual(['WARNING']);
  });
});
