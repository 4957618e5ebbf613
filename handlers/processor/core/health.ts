/**
 * Sensor health, pure: which sensors reported in the last periods (from the rollup windows the
 * processor already writes), what each sensor's health state becomes, the events of the
 * transitions, and the detector's metrics.
 *
 * A sensor is expected once it has reported since the stack was deployed (the detector adds it on
 * its first sighting): a sensor that never reported is never reported silent, and a sensor silent
 * for ForgetSilentSensorDays is forgotten (its item expires) and no longer counts in its zone.
 * Transitions: REPORTING → SILENT when it has no rollup window in the last SilentSensorPeriods
 * periods (one period = one rollup window) nor in the current one; SILENT → REPORTING on its next
 * window. Each publishes one event; a sensor whose last event is not yet published changes no
 * further until it is (so no event is overwritten before it went out).
 */
import {
  DETECTOR_SERVICE_NAME,
  HEALTH_METRIC,
  METRIC_DIMENSION,
  SENSOR_HEALTH_EVENT,
  type HealthState,
} from '../../../contract';
import { deterministicId } from './hash';

/** A sensor's health item, as stored. */
export interface HealthItem {
  sensorId: string;
  zoneId: string;
  state: HealthState;
  version: number;
  changedAt: number;
  lastSeenAt?: string;
  /** The event of the last transition (JSON of a HealthEvent), until published. */
  pendingEvent?: string;
  claimedBy?: string;
  claimUntil?: number;
  /** Epoch seconds: forgotten from then on. */
  expiresAt?: number;
}

/** A sensor that has a rollup window in the lookback, and the newest such window. */
export interface Sighting {
  sensorId: string;
  zoneId: string;
  latestWindowStartMs: number;
}

export interface HealthSettings {
  rollupWindowSeconds: number;
  silentSensorPeriods: number;
  forgetSilentSensorDays: number;
}

/** The detail of a `Sensor Silent` or `Sensor Recovered` event. */
export interface HealthEvent {
  /** Deterministic: sensor, new state and the version the transition wrote. A subscriber drops repeats by it. */
  event_id: string;
  sensor_id: string;
  zone_id: string;
  state: HealthState;
  previous_state: HealthState;
  /** The newest reading stored for the sensor (Sensor Silent), if the readings table still has one. */
  last_seen_at?: string;
  silent_after_seconds: number;
  detected_at: string;
}

export type HealthAction =
  /** First sighting since deploy: expected from now on. No event. */
  | { kind: 'insert'; sighting: Sighting }
  /** A change of state, with its event (last_seen_at filled in by the detector for silences). */
  | { kind: 'transition'; item: HealthItem; to: HealthState; zoneId: string }
  /** A sensor seen reporting in another zone than the one stored (its registry zone changed). */
  | { kind: 'rezone'; item: HealthItem; zoneId: string }
  /** An event left pending by a run whose claim lapsed: claim it and publish it. */
  | { kind: 'republish'; item: HealthItem };

export interface ZoneHealth {
  zoneId: string;
  expected: number;
  reporting: number;
}

export interface HealthPlan {
  actions: HealthAction[];
  zones: ZoneHealth[];
  silent: number;
  /** Silences not declared because most of the fleet looks silent at once (PIPELINE_OUTAGE_SHARE). */
  silencesHeld: number;
}

/**
 * When fewer than this share of all expected sensors reported, the pipeline (IoT Core, the rule,
 * the stream, the processor) is far likelier to be stopped or behind than half the city's sensors
 * to have died together: the run declares no silence (recoveries still go out), so a processor
 * outage does not publish 50,000 Sensor Silent events and then 50,000 recoveries. The
 * `sensors-stopped` and `processor-iterator-age` alarms cover that case; this one counts SilencesHeld.
 */
export const PIPELINE_OUTAGE_SHARE = 0.5;
/** Below this many expected sensors the share says little (a test bench): silences are never held. */
export const PIPELINE_OUTAGE_MIN_SENSORS = 20;

/** The start (epoch ms) of the oldest window that still counts as reporting. */
export function reportingCutoffMs(nowMs: number, settings: Pick<HealthSettings, 'rollupWindowSeconds' | 'silentSensorPeriods'>): number {
  const periodMs = settings.rollupWindowSeconds * 1000;
  return (Math.floor(nowMs / periodMs) - settings.silentSensorPeriods) * periodMs;
}

/** The newest window of each sensor among the zone index keys (sensor, window start, zone). */
export function sightings(keys: Iterable<{ sensorId: string; zoneId: string; windowStartMs: number }>): Map<string, Sighting> {
  const seen = new Map<string, Sighting>();
  for (const k of keys) {
    const s = seen.get(k.sensorId);
    if (!s || k.windowStartMs > s.latestWindowStartMs) {
      seen.set(k.sensorId, { sensorId: k.sensorId, zoneId: k.zoneId, latestWindowStartMs: k.windowStartMs });
    }
  }
  return seen;
}

const isForgotten = (item: HealthItem, nowMs: number) => item.expiresAt !== undefined && item.expiresAt * 1000 <= nowMs;

/**
 * What this run does: insert first sightings, move sensors between REPORTING and SILENT, follow a
 * zone change, republish events whose publisher died; and each zone's expected and reporting counts.
 */
export function planHealth(known: Iterable<HealthItem>, seen: Map<string, Sighting>, nowMs: number): HealthPlan {
  const actions: HealthAction[] = [];
  const zones = new Map<string, ZoneHealth>();
  const count = (zoneId: string, reporting: boolean) => {
    const z = zones.get(zoneId) ?? { zoneId, expected: 0, reporting: 0 };
    z.expected++;
    if (reporting) z.reporting++;
    zones.set(zoneId, z);
  };
  const knownIds = new Set<string>();
  let silent = 0;
  for (const item of known) {
    knownIds.add(item.sensorId);
    const sighting = seen.get(item.sensorId);
    const forgotten = isForgotten(item, nowMs);
    if (forgotten && !sighting) continue;
    const state: HealthState = forgotten ? 'SILENT' : item.state;
    const zoneId = sighting?.zoneId ?? item.zoneId;
    count(zoneId, sighting !== undefined);
    if (item.pendingEvent !== undefined) {
      // Its last event goes out before anything else happens to it.
      if ((item.claimUntil ?? 0) <= nowMs) actions.push({ kind: 'republish', item });
      if (state === 'SILENT') silent++;
      continue;
    }
    if (state === 'REPORTING' && !sighting) {
      actions.push({ kind: 'transition', item, to: 'SILENT', zoneId });
      silent++;
    } else if (state === 'SILENT' && sighting) {
      actions.push({ kind: 'transition', item, to: 'REPORTING', zoneId });
    } else {
      if (state === 'SILENT') silent++;
      if (sighting && sighting.zoneId !== item.zoneId) actions.push({ kind: 'rezone', item, zoneId: sighting.zoneId });
    }
  }
  for (const sighting of seen.values()) {
    if (knownIds.has(sighting.sensorId)) continue;
    actions.push({ kind: 'insert', sighting });
    count(sighting.zoneId, true);
  }
  const expected = [...zones.values()].reduce((n, z) => n + z.expected, 0);
  const reporting = [...zones.values()].reduce((n, z) => n + z.reporting, 0);
  let silencesHeld = 0;
  let kept = actions;
  if (expected >= PIPELINE_OUTAGE_MIN_SENSORS && reporting < expected * PIPELINE_OUTAGE_SHARE) {
    kept = actions.filter((a) => !(a.kind === 'transition' && a.to === 'SILENT'));
    silencesHeld = actions.length - kept.length;
    silent -= silencesHeld;
  }
  return { actions: kept, zones: [...zones.values()].sort((a, b) => a.zoneId.localeCompare(b.zoneId)), silent, silencesHeld };
}

/** The event a transition publishes. `version` is the version the transition writes. */
export function healthEvent(
  item: HealthItem,
  to: HealthState,
  zoneId: string,
  version: number,
  nowMs: number,
  settings: Pick<HealthSettings, 'rollupWindowSeconds' | 'silentSensorPeriods'>,
  lastSeenAt?: string,
): HealthEvent {
  return {
    event_id: deterministicId('sensor-health', item.sensorId, to, version),
    sensor_id: item.sensorId,
    zone_id: zoneId,
    state: to,
    previous_state: to === 'SILENT' ? 'REPORTING' : 'SILENT',
    ...(lastSeenAt ? { last_seen_at: lastSeenAt } : {}),
    silent_after_seconds: settings.silentSensorPeriods * settings.rollupWindowSeconds,
    detected_at: new Date(nowMs).toISOString(),
  };
}

/** The event's detail-type on the bus. */
export const detailTypeOf = (event: Pick<HealthEvent, 'state'>): string =>
  event.state === 'SILENT' ? SENSOR_HEALTH_EVENT.silent : SENSOR_HEALTH_EVENT.recovered;

/** Whole percent, rounded down (a zone of 3 with 2 reporting is 66, not 67: the alarm errs towards firing). */
export const reportingSharePercent = (z: ZoneHealth): number => (z.expected === 0 ? 100 : Math.floor((z.reporting * 100) / z.expected));

/**
 * The run's metrics as EMF lines: one per zone (SensorsReporting, SensorsExpected; dimension ZoneId;
 * the dashboard divides one by the other) and one for the detector (the lowest zone share, the
 * silent sensors, the events published; dimension Service). Standard resolution: one run a minute.
 * Each metric of each zone is a custom metric ($0.30 a month: https://aws.amazon.com/cloudwatch/pricing/),
 * so a per-zone share is not emitted as a third one.
 */
export function healthEmfDocuments(
  namespace: string,
  timestampMs: number,
  plan: Pick<HealthPlan, 'zones' | 'silent' | 'silencesHeld'>,
  eventsPublished: number,
): string[] {
  const doc = (dimensions: Record<string, string>, metrics: [string, string, number][]) =>
    JSON.stringify({
      _aws: {
        Timestamp: timestampMs,
        CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [Object.keys(dimensions)], Metrics: metrics.map(([Name, Unit]) => ({ Name, Unit })) }],
      },
      ...dimensions,
      ...Object.fromEntries(metrics.map(([name, , value]) => [name, value])),
    });
  const lowest = plan.zones.length === 0 ? 100 : Math.min(...plan.zones.map(reportingSharePercent));
  return [
    ...plan.zones.map((z) =>
      doc({ [METRIC_DIMENSION.zone]: z.zoneId }, [
        [HEALTH_METRIC.sensorsReporting, 'Count', z.reporting],
        [HEALTH_METRIC.sensorsExpected, 'Count', z.expected],
      ]),
    ),
    doc({ [METRIC_DIMENSION.service]: DETECTOR_SERVICE_NAME }, [
      [HEALTH_METRIC.lowestZoneReportingSharePercent, 'Percent', lowest],
      [HEALTH_METRIC.sensorsSilent, 'Count', plan.silent],
      [HEALTH_METRIC.silencesHeld, 'Count', plan.silencesHeld],
      [HEALTH_METRIC.healthEventsPublished, 'Count', eventsPublished],
    ]),
  ];
}
