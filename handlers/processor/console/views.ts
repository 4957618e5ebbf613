/**
 * What the controllers' console shows, pure: the city and a zone from every sensor's latest reading
 * (the sensor-status items the processor writes), the alerts as sentences from the alert state,
 * and a sensor's rollups. Times are epoch ms; `nowMs` is the only clock.
 */
import type { SensorStatus } from '../../../contract';
import type { Level } from '../core/types';

/** A sensor not heard from for this long is late: left out of its zone's live figures (its batch is slow, or it stopped). */
export const LATE_AFTER_MS = 30_000;
/** Lists on the page are capped; the totals are always given. */
export const MAX_LISTED_SENSORS = 500;

export interface ConsoleSettings {
  warningThreshold: number;
  criticalThreshold: number;
  rollupWindowSeconds: number;
  silentSensorPeriods: number;
  forgetSilentSensorDays: number;
}

/** The level of a congestion index: the processor's rule (above the threshold, not at it). */
export const levelOf = (congestion: number, s: Pick<ConsoleSettings, 'warningThreshold' | 'criticalThreshold'>): Level =>
  congestion > s.criticalThreshold ? 'CRITICAL' : congestion > s.warningThreshold ? 'WARNING' : 'NORMAL';

/** Silent as the detector decides it: no reading for SilentSensorPeriods rollup windows. */
export const silentAfterMs = (s: ConsoleSettings) => s.silentSensorPeriods * s.rollupWindowSeconds * 1000;
const forgetAfterMs = (s: ConsoleSettings) => s.forgetSilentSensorDays * 86_400_000;

/** One active or recent alert of a sensor, from its alert state (and its acknowledgement). */
export interface AlertState {
  sensorId: string;
  zoneId: string;
  level: Level;
  /** Epoch ms of the reading behind the last alert into each level. */
  lastAlertAt: Partial<Record<Level, number>>;
  updatedAtMs: number;
  ack?: { by: string; at: string; level: string; since: number };
}

export interface ZoneSummary {
  zoneId: string;
  /** The level of the zone's mean congestion (the alerts' thresholds); UNKNOWN when no sensor is live. */
  level: Level | 'UNKNOWN';
  meanCongestion: number | null;
  meanSpeedKmh: number | null;
  /** Vehicles counted by the zone's live sensors in their latest reading. */
  vehicles: number | null;
  /** Live: a reading in the last LATE_AFTER_MS. */
  sensorsLive: number;
  /** Reporting: a reading in the last SilentSensorPeriods windows (the detector's rule). */
  sensorsReporting: number;
  /** Expected: a reading since ForgetSilentSensorDays (decommissioned sensors drop out). */
  sensorsExpected: number;
  /** Sensors of the zone in alert, by level (the alert state's level). */
  alerts: { WARNING: number; CRITICAL: number };
  /** IoT receive time of the zone's newest reading; null when none is known. */
  newestAtMs: number | null;
  /** now − newestAtMs: how old the freshest thing the zone shows is. */
  dataAgeMs: number | null;
  /** Mean position of the zone's sensors with a position (the registry's `location`). */
  centre: { lat: number; lon: number } | null;
}

export interface CitySnapshot {
  generatedAtMs: number;
  thresholds: { warning: number; critical: number };
  zones: ZoneSummary[];
  city: {
    sensorsLive: number;
    sensorsReporting: number;
    sensorsExpected: number;
    /** The oldest zone data age among zones with a live sensor: what "the console is X s behind" means. */
    dataAgeMs: number | null;
    newestAtMs: number | null;
  };
  /** Sensors in alert (alert-state level), for the map. */
  alertSensors: { sensorId: string; zoneId: string; level: Level }[];
  /** Silent sensors, longest silent first (at most MAX_LISTED_SENSORS; `silentTotal` counts all). */
  silent: { sensorId: string; zoneId: string; lastSeenAtMs: number }[];
  silentTotal: number;
}

export type Positions = ReadonlyMap<string, { lat: number; lon: number }>;

/** Keeps, per sensor, its newest status (a sensor found in two items after a change of SensorStatusItems). */
export function latestStatuses(statuses: Iterable<SensorStatus>): Map<string, SensorStatus> {
  const latest = new Map<string, SensorStatus>();
  for (const s of statuses) {
    const known = latest.get(s.sensorId);
    if (!known || s.receivedAtMs > known.receivedAtMs) latest.set(s.sensorId, s);
  }
  return latest;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Alerts in force per zone, by level. */
function countAlerts(active: readonly AlertState[]): Map<string, { WARNING: number; CRITICAL: number }> {
  const counts = new Map<string, { WARNING: number; CRITICAL: number }>();
  for (const a of active) {
    if (a.level === 'NORMAL') continue;
    const c = counts.get(a.zoneId) ?? { WARNING: 0, CRITICAL: 0 };
    c[a.level]++;
    counts.set(a.zoneId, c);
  }
  return counts;
}

function summarise(zoneId: string, sensors: SensorStatus[], alerts: { WARNING: number; CRITICAL: number } | undefined, positions: Positions, nowMs: number, settings: ConsoleSettings): ZoneSummary {
  const live = sensors.filter((s) => nowMs - s.receivedAtMs <= LATE_AFTER_MS);
  const reporting = sensors.filter((s) => nowMs - s.receivedAtMs <= silentAfterMs(settings));
  const mean = (f: (s: SensorStatus) => number) => (live.length ? round(live.reduce((n, s) => n + f(s), 0) / live.length) : null);
  const meanCongestion = mean((s) => s.congestionIndex);
  const newest = sensors.reduce<number | null>((n, s) => (n === null || s.receivedAtMs > n ? s.receivedAtMs : n), null);
  const placed = sensors.map((s) => positions.get(s.sensorId)).filter((p): p is { lat: number; lon: number } => p !== undefined);
  return {
    zoneId,
    level: meanCongestion === null ? 'UNKNOWN' : levelOf(meanCongestion, settings),
    meanCongestion,
    meanSpeedKmh: mean((s) => s.avgSpeedKmh),
    vehicles: live.length ? live.reduce((n, s) => n + s.vehicleCount, 0) : null,
    sensorsLive: live.length,
    sensorsReporting: reporting.length,
    sensorsExpected: sensors.length,
    alerts: alerts ?? { WARNING: 0, CRITICAL: 0 },
    newestAtMs: newest,
    dataAgeMs: newest === null ? null : Math.max(0, nowMs - newest),
    centre: placed.length
      ? { lat: round(placed.reduce((n, p) => n + p.lat, 0) / placed.length, 6), lon: round(placed.reduce((n, p) => n + p.lon, 0) / placed.length, 6) }
      : null,
  };
}

/** Expected sensors (not forgotten), by zone, zones in id order. */
export function sensorsByZone(statuses: ReadonlyMap<string, SensorStatus>, nowMs: number, settings: ConsoleSettings): Map<string, SensorStatus[]> {
  const byZone = new Map<string, SensorStatus[]>();
  for (const s of statuses.values()) {
    if (nowMs - s.receivedAtMs > forgetAfterMs(settings)) continue;
    const list = byZone.get(s.zoneId);
    if (list) list.push(s);
    else byZone.set(s.zoneId, [s]);
  }
  return new Map([...byZone].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The city: every zone's summary, the sensors in alert and the silent ones. */
export function citySnapshot(
  statuses: ReadonlyMap<string, SensorStatus>,
  alerts: readonly AlertState[],
  positions: Positions,
  nowMs: number,
  settings: ConsoleSettings,
  byZone: ReadonlyMap<string, SensorStatus[]> = sensorsByZone(statuses, nowMs, settings),
): CitySnapshot {
  const active = alerts.filter((a) => a.level !== 'NORMAL');
  const alertsByZone = countAlerts(active);
  const zones = [...byZone].map(([zoneId, sensors]) => summarise(zoneId, sensors, alertsByZone.get(zoneId), positions, nowMs, settings));
  const silentAfter = silentAfterMs(settings);
  const silent = [...statuses.values()]
    .filter((s) => nowMs - s.receivedAtMs > silentAfter && nowMs - s.receivedAtMs <= forgetAfterMs(settings))
    .sort((a, b) => a.receivedAtMs - b.receivedAtMs);
  const withLive = zones.filter((z) => z.sensorsLive > 0 && z.dataAgeMs !== null);
  const newest = zones.reduce<number | null>((n, z) => (z.newestAtMs !== null && (n === null || z.newestAtMs > n) ? z.newestAtMs : n), null);
  return {
    generatedAtMs: nowMs,
    thresholds: { warning: settings.warningThreshold, critical: settings.criticalThreshold },
    zones,
    city: {
      sensorsLive: zones.reduce((n, z) => n + z.sensorsLive, 0),
      sensorsReporting: zones.reduce((n, z) => n + z.sensorsReporting, 0),
      sensorsExpected: zones.reduce((n, z) => n + z.sensorsExpected, 0),
      dataAgeMs: withLive.length ? Math.max(...withLive.map((z) => z.dataAgeMs!)) : null,
      newestAtMs: newest,
    },
    alertSensors: active.slice(0, MAX_LISTED_SENSORS).map((a) => ({ sensorId: a.sensorId, zoneId: a.zoneId, level: a.level })),
    silent: silent.slice(0, MAX_LISTED_SENSORS).map((s) => ({ sensorId: s.sensorId, zoneId: s.zoneId, lastSeenAtMs: s.receivedAtMs })),
    silentTotal: silent.length,
  };
}

export interface SensorView {
  sensorId: string;
  level: Level;
  /** The alert state's level when the sensor is in alert (hysteresis: it can differ from the reading's). */
  alertLevel: Level | null;
  congestionIndex: number;
  vehicleCount: number;
  avgSpeedKmh: number;
  receivedAtMs: number;
  readingAtMs: number;
  ageMs: number;
  state: 'LIVE' | 'LATE' | 'SILENT';
  position: { lat: number; lon: number } | null;
}

/** One zone (of `byZone`, sensorsByZone's answer): its summary and every sensor of it, most congested first. */
export function zoneView(
  zoneId: string,
  byZone: ReadonlyMap<string, SensorStatus[]>,
  alerts: readonly AlertState[],
  positions: Positions,
  nowMs: number,
  settings: ConsoleSettings,
): { summary: ZoneSummary; sensors: SensorView[] } | undefined {
  const sensors = byZone.get(zoneId);
  if (!sensors) return undefined;
  const active = alerts.filter((a) => a.level !== 'NORMAL' && a.zoneId === zoneId);
  const alertOf = new Map(active.map((a) => [a.sensorId, a.level]));
  const silentAfter = silentAfterMs(settings);
  return {
    summary: summarise(zoneId, sensors, countAlerts(active).get(zoneId), positions, nowMs, settings),
    sensors: sensors
      .map((s): SensorView => {
        const age = Math.max(0, nowMs - s.receivedAtMs);
        return {
          sensorId: s.sensorId,
          level: levelOf(s.congestionIndex, settings),
          alertLevel: alertOf.get(s.sensorId) ?? null,
          congestionIndex: s.congestionIndex,
          vehicleCount: s.vehicleCount,
          avgSpeedKmh: s.avgSpeedKmh,
          receivedAtMs: s.receivedAtMs,
          readingAtMs: s.readingAtMs,
          ageMs: age,
          state: age > silentAfter ? 'SILENT' : age > LATE_AFTER_MS ? 'LATE' : 'LIVE',
          position: positions.get(s.sensorId) ?? null,
        };
      })
      .sort((a, b) => b.congestionIndex - a.congestionIndex || (a.sensorId < b.sensorId ? -1 : 1)),
  };
}

/** An alert as the console shows it: the facts, and the sentence a controller reads. */
export interface AlertSentence {
  /** The alert's identity: a sensor, the level it entered and when (what an acknowledgement names). */
  sensorId: string;
  zoneId: string;
  level: Level;
  sinceMs: number | null;
  /** The sensor's latest congestion index (null when the console has no reading of it). */
  value: number | null;
  threshold: number | null;
  active: boolean;
  acknowledged: { by: string; atMs: number } | null;
  sentence: string;
}

const CLOCK = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: 'UTC' });
const clock = (ms: number) => `${CLOCK.format(new Date(ms))} UTC`;

/** The acknowledgement of an alert, if the state's acknowledgement names this very alert. */
export function acknowledgementOf(state: AlertState, level: Level, sinceMs: number | null): AlertSentence['acknowledged'] {
  const ack = state.ack;
  if (!ack || sinceMs === null || ack.level !== level || ack.since !== sinceMs) return null;
  return { by: ack.by, atMs: Date.parse(ack.at) };
}

/**
 * A sensor's alert as a sentence, e.g. "CRITICAL: sensor S-0042 in zone Z03, congestion 94 (threshold
 * 90), since 12:03:15 UTC; acknowledged by alice at 12:04:02 UTC." A cleared alert says when it
 * cleared and what it was. Sensor and zone ids are pattern-checked by the processor; the page puts
 * the sentence in the DOM as text all the same.
 */
export function alertSentence(state: AlertState, latest: SensorStatus | undefined, settings: ConsoleSettings): AlertSentence {
  const active = state.level !== 'NORMAL';
  const value = latest ? latest.congestionIndex : null;
  if (active) {
    const since = state.lastAlertAt[state.level] ?? null;
    const threshold = state.level === 'CRITICAL' ? settings.criticalThreshold : settings.warningThreshold;
    const acknowledged = acknowledgementOf(state, state.level, since);
    const parts = [
      `${state.level}: sensor ${state.sensorId} in zone ${state.zoneId}`,
      value === null ? 'no recent reading' : `congestion ${round(value)} (threshold ${threshold})`,
      since === null ? 'since an alert within the cooldown' : `since ${clock(since)}`,
    ];
    const ackText = acknowledged ? `acknowledged by ${acknowledged.by} at ${clock(acknowledged.atMs)}` : 'not acknowledged';
    return { sensorId: state.sensorId, zoneId: state.zoneId, level: state.level, sinceMs: since, value, threshold, active, acknowledged, sentence: `${parts.join(', ')}; ${ackText}.` };
  }
  // Cleared: the highest level it reached before going back to NORMAL.
  const clearedAt = state.lastAlertAt.NORMAL ?? state.updatedAtMs;
  const was: Level = (state.lastAlertAt.CRITICAL ?? 0) > (state.lastAlertAt.WARNING ?? 0) ? 'CRITICAL' : 'WARNING';
  const wasSince = state.lastAlertAt[was] ?? null;
  const acknowledged = acknowledgementOf(state, was, wasSince);
  const sentence =
    `Cleared: sensor ${state.sensorId} in zone ${state.zoneId} back to NORMAL at ${clock(clearedAt)}` +
    (wasSince !== null ? ` (${was} since ${clock(wasSince)})` : '') +
    (acknowledged ? `; acknowledged by ${acknowledged.by}.` : '.');
  return { sensorId: state.sensorId, zoneId: state.zoneId, level: 'NORMAL', sinceMs: clearedAt, value, threshold: null, active, acknowledged, sentence };
}

/** Active alerts first (CRITICAL, then WARNING, newest first), then recent ones that cleared (newest first). */
export function alertList(
  active: readonly AlertState[],
  recent: readonly AlertState[],
  statuses: ReadonlyMap<string, SensorStatus>,
  settings: ConsoleSettings,
): { active: AlertSentence[]; recent: AlertSentence[] } {
  const rank = { CRITICAL: 0, WARNING: 1, NORMAL: 2 } as const;
  const activeIds = new Set(active.filter((a) => a.level !== 'NORMAL').map((a) => a.sensorId));
  return {
    active: active
      .filter((a) => a.level !== 'NORMAL')
      .map((a) => alertSentence(a, statuses.get(a.sensorId), settings))
      .sort((a, b) => rank[a.level] - rank[b.level] || Number(a.acknowledged !== null) - Number(b.acknowledged !== null) || (b.sinceMs ?? 0) - (a.sinceMs ?? 0)),
    recent: recent
      .filter((a) => a.level === 'NORMAL' && !activeIds.has(a.sensorId) && (a.lastAlertAt.WARNING !== undefined || a.lastAlertAt.CRITICAL !== undefined))
      .map((a) => alertSentence(a, statuses.get(a.sensorId), settings))
      .sort((a, b) => (b.sinceMs ?? 0) - (a.sinceMs ?? 0)),
  };
}
