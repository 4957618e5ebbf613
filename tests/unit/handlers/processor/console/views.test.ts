/** console/views.ts: what the console shows, the city and a zone's levels and the alerts' sentences. */
import { describe, expect, it } from 'vitest';
import { alertList, alertSentence, citySnapshot, latestStatuses, LATE_AFTER_MS, sensorsByZone, zoneView, type AlertState, type ConsoleSettings } from '../../../../../handlers/processor/console/views';

const NOW = Date.parse('2026-05-01T12:00:00Z');
const SETTINGS: ConsoleSettings = { warningThreshold: 80, criticalThreshold: 90, rollupWindowSeconds: 60, silentSensorPeriods: 5, forgetSilentSensorDays: 7 };
const status = (sensorId: string, zoneId: string, congestionIndex: number, ageMs = 2_000) => ({
  sensorId,
  zoneId,
  congestionIndex,
  vehicleCount: 10,
  avgSpeedKmh: 40,
  receivedAtMs: NOW - ageMs,
  readingAtMs: NOW - ageMs - 100,
});

describe('citySnapshot and zoneView', () => {
  const statuses = latestStatuses([
    status('a1', 'A', 95),
    status('a2', 'A', 91),
    status('b1', 'B', 85),
    status('b2', 'B', 20),
    // Late: left out of B's figures, still reporting.
    status('b3', 'B', 99, LATE_AFTER_MS + 5_000),
    // Silent (no reading for 5 windows of 60 s), and forgotten (8 days).
    status('c1', 'C', 10, 6 * 60_000),
    status('c2', 'C', 10, 8 * 86_400_000),
    // A sensor found in two items (SensorStatusItems changed): the newest counts.
    status('a2', 'A', 50, 60_000),
  ]);

  it("levels each zone by its live sensors' mean congestion, and counts live, reporting and expected sensors", () => {
    const city = citySnapshot(statuses, [], new Map(), NOW, SETTINGS);
    const byZone = Object.fromEntries(city.zones.map((z) => [z.zoneId, z]));
    expect(byZone.A).toMatchObject({ level: 'CRITICAL', meanCongestion: 93, sensorsLive: 2, sensorsReporting: 2, sensorsExpected: 2, vehicles: 20 });
    expect(byZone.B).toMatchObject({ level: 'NORMAL', meanCongestion: 52.5, sensorsLive: 2, sensorsReporting: 3, sensorsExpected: 3 });
    expect(byZone.C).toMatchObject({ level: 'UNKNOWN', meanCongestion: null, sensorsLive: 0, sensorsReporting: 0, sensorsExpected: 1 });
    expect(city.silent).toEqual([{ sensorId: 'c1', zoneId: 'C', lastSeenAtMs: NOW - 6 * 60_000 }]);
    expect(city.city).toMatchObject({ sensorsLive: 4, sensorsExpected: 6, dataAgeMs: 2_000 });
  });

  it("lists a zone's sensors, most congested first, with their state; an unknown zone is undefined", () => {
    const view = zoneView('B', sensorsByZone(statuses, NOW, SETTINGS), [{ sensorId: 'b1', zoneId: 'B', level: 'WARNING', lastAlertAt: { WARNING: NOW - 9_000 }, updatedAtMs: NOW }], new Map([['b1', { lat: 52.5, lon: 13.4 }]]), NOW, SETTINGS)!;
    expect(view.sensors.map((s) => [s.sensorId, s.state, s.alertLevel])).toEqual([
      ['b3', 'LATE', null],
      ['b1', 'LIVE', 'WARNING'],
      ['b2', 'LIVE', null],
    ]);
    expect(view.summary.alerts).toEqual({ WARNING: 1, CRITICAL: 0 });
    expect(view.summary.centre).toEqual({ lat: 52.5, lon: 13.4 });
    expect(zoneView('nope', sensorsByZone(statuses, NOW, SETTINGS), [], new Map(), NOW, SETTINGS)).toBeUndefined();
  });
});

describe('alert sentences', () => {
  const since = NOW - 65_000;
  const critical: AlertState = { sensorId: 's-42', zoneId: 'Z03', level: 'CRITICAL', lastAlertAt: { WARNING: since - 30_000, CRITICAL: since }, updatedAtMs: since };

  it('says sensor, zone, level, value, threshold, since when and who acknowledged it', () => {
    const latest = status('s-42', 'Z03', 94.04);
    expect(alertSentence(critical, latest, SETTINGS).sentence).toBe('CRITICAL: sensor s-42 in zone Z03, congestion 94 (threshold 90), since 11:58:55 UTC; not acknowledged.');
    const acked = { ...critical, ack: { by: 'alice', at: new Date(NOW - 5_000).toISOString(), level: 'CRITICAL', since } };
    expect(alertSentence(acked, latest, SETTINGS)).toMatchObject({ acknowledged: { by: 'alice', atMs: NOW - 5_000 }, sentence: expect.stringMatching(/; acknowledged by alice at 11:59:55 UTC\.$/) });
    // An acknowledgement of an earlier alert of the sensor does not carry over.
    const earlier = { ...critical, ack: { by: 'alice', at: new Date(NOW).toISOString(), level: 'CRITICAL', since: since - 600_000 } };
    expect(alertSentence(earlier, latest, SETTINGS).acknowledged).toBeNull();
  });

  it('says when a cleared alert cleared and what it was, and lists active ones first (unacknowledged, then newest)', () => {
    const cleared: AlertState = { sensorId: 's-7', zoneId: 'Z01', level: 'NORMAL', lastAlertAt: { CRITICAL: NOW - 600_000, NORMAL: NOW - 60_000 }, updatedAtMs: NOW - 60_000 };
    expect(alertSentence(cleared, undefined, SETTINGS).sentence).toBe('Cleared: sensor s-7 in zone Z01 back to NORMAL at 11:59:00 UTC (CRITICAL since 11:50:00 UTC).');
    const warning: AlertState = { sensorId: 's-9', zoneId: 'Z01', level: 'WARNING', lastAlertAt: { WARNING: NOW - 1_000 }, updatedAtMs: NOW };
    const ackedCritical: AlertState = { ...critical, sensorId: 's-43', ack: { by: 'bob', at: new Date(NOW).toISOString(), level: 'CRITICAL', since } };
    const list = alertList([warning, ackedCritical, critical], [cleared, critical], new Map(), SETTINGS);
    expect(list.active.map((a) => a.sensorId)).toEqual(['s-42', 's-43', 's-9']);
    expect(list.recent.map((a) => a.sensorId)).toEqual(['s-7']);
  });
});
