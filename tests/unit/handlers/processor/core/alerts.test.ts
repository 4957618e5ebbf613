import { describe, expect, it } from 'vitest';
import { exampleReading } from '../../../../../contract';
import { CLAIM_MARGIN_MS } from '../../../../../handlers/processor/limits';
import { afterPublish, decide, initialState, nextLevel, ownedAlerts, type AlertState, type Claimant } from '../../../../../handlers/processor/core/alerts';
import { enrich } from '../../../../helpers/readings';
import type { Level, Reading } from '../../../../../handlers/processor/core/types';

const thresholds = { warning: 80, critical: 90, hysteresis: 5 };
const policy = { thresholds, cooldownMs: 300_000 };
const T = Date.parse('2026-11-22T12:00:00Z');
/** Two invocations deciding: this one, and one that runs later (its deadline further on). */
const me: Claimant = { id: 'invocation-1', deadlineMs: T + 3_600_000, nowMs: T + 1_000 };
const later: Claimant = { id: 'invocation-2', deadlineMs: T + 7_200_000, nowMs: T + 2_000 };
const readings = (indices: number[], startS = 0) =>
  indices.map((ci, i) =>
    enrich(
      exampleReading({
        sensor_id: 's1',
        zone_id: 'z',
        timestamp: new Date(T + (startS + i) * 1000).toISOString(),
        timestampMs: T + (startS + i) * 1000,
        vehicle_count: 1,
        avg_speed: 10,
        congestion_index: ci,
        received_at: T + (startS + i) * 1000,
      }) satisfies Reading,
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
    const d = decide(initialState('s1'), readings([50, 85, 95, 70]), policy, me);
    expect(d.alerts.map((a) => `${a.previous_level}->${a.level}@${a.threshold}`)).toEqual([
      'NORMAL->WARNING@80',
      'WARNING->CRITICAL@90',
      'CRITICAL->NORMAL@90',
    ]);
    expect(d.next).toMatchObject({ level: 'NORMAL', version: 1 });
    expect(d.next.pending.map((p) => p.alert)).toEqual(d.alerts);
    const again = decide(initialState('s1'), readings([50, 85, 95, 70]), policy, later);
    expect(again.alerts.map((a) => a.alert_id)).toEqual(d.alerts.map((a) => a.alert_id));
  });

  it('does nothing when the level does not change', () => {
    const state: AlertState = { ...initialState('s1'), level: 'WARNING', version: 3 };
    const d = decide(state, readings([82, 78, 84]), policy, me);
    expect(d).toMatchObject({ alerts: [], changed: false, next: { version: 3, level: 'WARNING' } });
  });

  it('decides nothing new when a batch is replayed on the state it produced', () => {
    const first = decide(initialState('s1'), readings([85]), policy, me);
    const replay = decide({ ...first.next, pending: [] }, readings([85]), policy, me);
    expect(replay.alerts).toEqual([]);
    expect(replay.changed).toBe(false);
  });

  it('suppresses a repeat into the same level within the cooldown, but still follows the level', () => {
    const first = decide(initialState('s1'), readings([85, 70]), policy, me);
    expect(first.alerts).toHaveLength(2);
    const second = decide({ ...first.next, pending: [] }, readings([86], 60), policy, me);
    expect(second.alerts).toEqual([]);
    expect(second.suppressed).toBe(1);
    expect(second.next.level).toBe('WARNING');
    const later = decide({ ...first.next, pending: [] }, readings([86], 400), policy, me);
    expect(later.alerts.map((a) => a.level)).toEqual(['WARNING']);
  });
});

describe('decide: stale readings', () => {
  it('does not let a reading older than the state’s last reading move the state, and counts it', () => {
    // Live: up to CRITICAL and back to NORMAL; then a 10-minute-old CRITICAL reading is replayed.
    const live = decide(initialState('s1'), readings([95, 60], 600), policy, me);
    expect(live.next).toMatchObject({ level: 'NORMAL', lastReadingMs: T + 601_000 });
    const replay = decide(live.next, readings([97]), policy, later);
    expect(replay).toMatchObject({ alerts: [], stale: 1, changed: false });
    expect(replay.next.level).toBe('NORMAL');
  });

  it('takes only the readings newer than the state’s within one batch', () => {
    const state: AlertState = { ...initialState('s1'), lastReadingMs: T + 2_000 };
    const decision = decide(state, readings([95, 95, 95, 60]), policy, me);
    expect(decision.stale).toBe(3);
    expect(decision.alerts).toEqual([]);
  });

  it('treats readings no newer than a stored reading as stale when the caller knows one (late readings)', () => {
    // No transition has been written since the live NORMAL readings, so the state alone cannot tell.
    const decision = decide(initialState('s1'), readings([97]), policy, me, T + 60_000);
    expect(decision).toMatchObject({ alerts: [], stale: 1, changed: false });
  });

  it('records the newest reading with a transition, so a replay of the same batch changes nothing', () => {
    const first = decide(initialState('s1'), readings([70, 85, 88]), policy, me);
    expect(first.next.lastReadingMs).toBe(T + 2_000);
    const again = decide(first.next, readings([70, 85, 88]), policy, me);
    expect(again).toMatchObject({ alerts: [], stale: 3, changed: false });
  });
});

describe('decide: who publishes', () => {
  it('claims the alerts it raises until its own deadline', () => {
    const d = decide(initialState('s1'), readings([85]), policy, me);
    expect(d.next.pending).toEqual([{ alert: d.alerts[0], owner: me.id, until: me.deadlineMs }]);
    expect(ownedAlerts(d.next, me)).toEqual(d.alerts);
    expect(ownedAlerts(d.next, later)).toEqual([]);
  });

  it('leaves alerts another live invocation claimed alone, and takes those whose claim lapsed', () => {
    const claimed = decide(initialState('s1'), readings([85]), policy, me).next;
    const meanwhile = decide(claimed, [], policy, later);
    expect(meanwhile).toMatchObject({ changed: false, reclaimed: 0 });
    const afterDeadline: Claimant = { ...later, nowMs: me.deadlineMs + CLAIM_MARGIN_MS + 1 };
    const taken = decide(claimed, [], policy, afterDeadline);
    expect(taken).toMatchObject({ changed: true, reclaimed: 1 });
    expect(ownedAlerts(taken.next, later).map((a) => a.alert_id)).toEqual(ownedAlerts(claimed, me).map((a) => a.alert_id));
  });

  it('after publishing, drops what went out and releases what did not', () => {
    const state = decide(initialState('s1'), readings([85, 95]), policy, me).next;
    const [first, second] = ownedAlerts(state, me);
    const next = afterPublish(state, new Set([first!.alert_id]), me);
    expect(next.version).toBe(state.version + 1);
    expect(next.pending).toEqual([{ alert: second, owner: me.id, until: 0 }]);
    // Released: the next invocation takes it at once.
    expect(decide(next, [], policy, later).reclaimed).toBe(1);
  });
});
