/**
 * The alert state machine, per sensor. Pure: given the stored state and the sensor's readings of
 * one batch (in time order), it returns the next state and the alerts to publish.
 *
 * Levels: NORMAL → WARNING (index > warning) → CRITICAL (index > critical), escalating at once.
 * A level is left only when the index falls `hysteresis` points below its threshold, so a sensor
 * hovering at a threshold does not flap. A transition into a level within `cooldown` of the last
 * alert into that level changes the state but publishes nothing (counted as suppressed).
 *
 * Only readings newer than every reading the state has seen move it: a replayed or late reading
 * (a redrive, an overlapping delivery) is stale and counted, so it can never raise an alert about
 * a moment the sensor has already moved on from, nor walk the state back and forth.
 */
import { ALERT_EVENT } from '../../../contract';
import type { Rollup } from './rollup';
import { deterministicId } from './hash';
import { levelRank, type EnrichedReading, type Level, type Thresholds } from './types';

/** The `detail` of an alert event on the bus. */
export interface AlertDetail {
  alert_id: string;
  level: Level;
  previous_level: Level;
  sensor_id: string;
  zone_id: string;
  congestion_index: number;
  /** The threshold crossed: the new level's threshold, or the left level's when going down. */
  threshold: number;
  reading_time: string;
  received_at: number;
  detected_at: string;
}

export interface AlertState {
  sensorId: string;
  level: Level;
  /** Optimistic-lock version; 0 means no stored item yet. */
  version: number;
  /** Receive time (epoch ms) of the reading behind the last published alert into each level. */
  lastAlertAt: Partial<Record<Level, number>>;
  /** Alerts decided but not yet confirmed published (an outbox): published again until cleared. */
  pending: AlertDetail[];
  /** Sensor time (epoch ms) of the newest reading the state has taken; 0 when none. */
  lastReadingMs: number;
}

export interface AlertPolicy {
  thresholds: Thresholds;
  cooldownMs: number;
}

export interface Decision {
  next: AlertState;
  /** New alerts decided in this batch (also appended to next.pending). */
  alerts: AlertDetail[];
  suppressed: number;
  /** Readings not newer than what the state (or the readings table) has already seen. */
  stale: number;
  /** Whether the stored state must change. */
  changed: boolean;
}

export const initialState = (sensorId: string): AlertState => ({
  sensorId,
  level: 'NORMAL',
  version: 0,
  lastAlertAt: {},
  pending: [],
  lastReadingMs: 0,
});

/** The level after one reading, from the current level, with hysteresis on the way down. */
export function nextLevel(current: Level, index: number, { warning, critical, hysteresis }: Thresholds): Level {
  const entry: Level = index > critical ? 'CRITICAL' : index > warning ? 'WARNING' : 'NORMAL';
  if (levelRank(entry) >= levelRank(current)) return entry;
  if (current === 'CRITICAL') {
    if (index > critical - hysteresis) return 'CRITICAL';
    return index > warning - hysteresis ? 'WARNING' : 'NORMAL';
  }
  return index > warning - hysteresis ? 'WARNING' : 'NORMAL';
}

const thresholdOf = (level: Level, t: Thresholds) => (level === 'CRITICAL' ? t.critical : t.warning);

/**
 * The next state of one sensor after its readings of a batch (in time order), the alerts its
 * transitions raise, and how many the cooldown suppressed.
 */
export function decide(
  state: AlertState,
  readings: EnrichedReading[],
  policy: AlertPolicy,
  detectedAt: string,
  /** The newest reading time known elsewhere (the readings table), when the batch's readings are late. */
  seenUntilMs = 0,
): Decision {
  let level = state.level;
  const lastAlertAt = { ...state.lastAlertAt };
  const alerts: AlertDetail[] = [];
  let suppressed = 0;
  let stale = 0;
  let changed = false;
  let lastReadingMs = Math.max(state.lastReadingMs, seenUntilMs);
  for (const r of readings) {
    if (r.timestampMs <= lastReadingMs) {
      stale++;
      continue;
    }
    lastReadingMs = r.timestampMs;
    const to = nextLevel(level, r.congestion_index, policy.thresholds);
    if (to === level) continue;
    changed = true;
    const since = lastAlertAt[to];
    if (since !== undefined && r.received_at - since < policy.cooldownMs) {
      suppressed++;
    } else {
      const up = levelRank(to) > levelRank(level);
      alerts.push({
        alert_id: deterministicId(ALERT_EVENT.source, r.sensor_id, level, to, r.timestamp),
        level: to,
        previous_level: level,
        sensor_id: r.sensor_id,
        zone_id: r.zone_id,
        congestion_index: r.congestion_index,
        threshold: thresholdOf(up ? to : level, policy.thresholds),
        reading_time: r.timestamp,
        received_at: r.received_at,
        detected_at: detectedAt,
      });
      lastAlertAt[to] = r.received_at;
    }
    level = to;
  }
  return {
    next: {
      sensorId: state.sensorId,
      level,
      version: state.version + (changed ? 1 : 0),
      lastAlertAt,
      pending: [...state.pending, ...alerts],
      // Stored only with a transition (the write happens then anyway); see the readings-table check for the rest.
      lastReadingMs: changed ? lastReadingMs : state.lastReadingMs,
    },
    alerts,
    suppressed,
    stale,
    changed,
  };
}

/** Sensors whose readings could move them out of NORMAL: any reading above the warning threshold. */
export const mayEscalate = (readings: EnrichedReading[], t: Thresholds): boolean =>
  readings.some((r) => r.congestion_index > t.warning);

/** A sensor whose stored state was read, and what its readings of this batch decide. */
export interface PlannedSensor {
  rollup: Rollup;
  previous: AlertState;
  decision: Decision;
}

/**
 * The alert plan of a batch: the decision of every sensor whose state was loaded (the others
 * cannot transition: they are NORMAL and no reading of theirs is above WARNING).
 */
export function planAlerts(
  rollups: readonly Rollup[],
  states: ReadonlyMap<string, AlertState>,
  policy: AlertPolicy,
  detectedAt: string,
  /** Per sensor, the newest reading time the readings table holds (looked up for late readings only). */
  seenUntilMs: ReadonlyMap<string, number> = new Map(),
): PlannedSensor[] {
  const planned: PlannedSensor[] = [];
  for (const rollup of rollups) {
    const previous = states.get(rollup.sensorId);
    if (previous) {
      const decision = decide(previous, rollup.readings, policy, detectedAt, seenUntilMs.get(rollup.sensorId));
      planned.push({ rollup, previous, decision });
    }
  }
  return planned;
}

/**
 * A reading that reached Kinesis this long after IoT Core received it was put back on the stream
 * (a redrive), not delivered by the topic rule, which writes within milliseconds.
 */
export const REPLAYED_AFTER_MS = 60_000;

/**
 * Sensors whose readings in this batch are late (received by IoT Core more than
 * REPLAYED_AFTER_MS before now): the only ones for which a newer reading may already have been
 * processed without the alert state knowing (it is written on transitions only).
 */
export const lateSensors = (rollups: readonly Rollup[], nowMs: number): Rollup[] =>
  rollups.filter((r) => nowMs - r.first.received_at > REPLAYED_AFTER_MS);
