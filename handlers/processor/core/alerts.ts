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
 * (an overlapping delivery, a redrive) is stale and counted, so it can never raise an alert about
 * a moment the sensor has already moved on from, nor walk the state back and forth.
 *
 * Alerts wait in the state's outbox (`pending`) until published, each claimed by the invocation
 * that publishes it until that invocation's deadline: two attempts running at once never publish
 * the same alert, and an alert whose publisher died is claimed again once its claim has lapsed.
 */
import { ALERT_EVENT } from '../../../contract';
import { CLAIM_MARGIN_MS } from '../limits';
import type { SensorReadings } from './batch';
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

/** An alert in the outbox, and who may publish it until when. */
export interface PendingAlert {
  alert: AlertDetail;
  /** The invocation that publishes it. */
  owner: string;
  /** Epoch ms: the owner's deadline; after it (and a margin for clocks), anyone may claim the alert. */
  until: number;
}

/** The invocation deciding: its identity, its deadline (its claims last until then) and its clock. */
export interface Claimant {
  id: string;
  deadlineMs: number;
  nowMs: number;
}


export interface AlertState {
  sensorId: string;
  level: Level;
  /** Optimistic-lock version; 0 means no stored item yet. Every write makes it one more. */
  version: number;
  /** Receive time (epoch ms) of the reading behind the last published alert into each level. */
  lastAlertAt: Partial<Record<Level, number>>;
  /** Alerts decided but not yet confirmed published (an outbox). */
  pending: PendingAlert[];
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
  /** Alerts of the outbox whose publisher's claim lapsed, now claimed by this invocation. */
  reclaimed: number;
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
  claimant: Claimant,
  /** The newest reading time known elsewhere (the readings table), when the batch's readings were replayed. */
  seenUntilMs = 0,
): Decision {
  const detectedAt = new Date(claimant.nowMs).toISOString();
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
  const transitioned = changed;
  // Alerts whose publisher's claim lapsed (it died before publishing): this invocation takes them.
  let reclaimed = 0;
  const pending = state.pending.map((p) => {
    if (p.owner === claimant.id || p.until + CLAIM_MARGIN_MS >= claimant.nowMs) return p;
    reclaimed++;
    return { alert: p.alert, owner: claimant.id, until: claimant.deadlineMs };
  });
  changed = changed || reclaimed > 0;
  return {
    next: {
      sensorId: state.sensorId,
      level,
      version: state.version + (changed ? 1 : 0),
      lastAlertAt,
      pending: [...pending, ...alerts.map((alert) => ({ alert, owner: claimant.id, until: claimant.deadlineMs }))],
      // Stored only with a transition (the write happens then anyway); see the readings-table check for the rest.
      lastReadingMs: transitioned ? lastReadingMs : state.lastReadingMs,
    },
    alerts,
    suppressed,
    stale,
    reclaimed,
    changed,
  };
}

/**
 * Sensors whose readings could move them out of NORMAL: any reading above the warning threshold.
 * (A loop rather than `some`: asked of every sensor of every batch, without a closure each time.)
 */
export function mayEscalate(readings: EnrichedReading[], t: Thresholds): boolean {
  const { warning } = t;
  for (let i = 0; i < readings.length; i++) if (readings[i]!.congestion_index > warning) return true;
  return false;
}

/** The alerts of a state this invocation publishes: those it claimed. */
export const ownedAlerts = (state: AlertState, claimant: Pick<Claimant, 'id'>): AlertDetail[] =>
  state.pending.filter((p) => p.owner === claimant.id).map((p) => p.alert);

/**
 * The state after publishing: the published alerts leave the outbox; those EventBridge did not
 * take stay, their claim released so that the next delivery publishes them at once.
 */
export function afterPublish(state: AlertState, published: ReadonlySet<string>, claimant: Pick<Claimant, 'id'>): AlertState {
  return {
    ...state,
    version: state.version + 1,
    pending: state.pending
      .filter((p) => !(p.owner === claimant.id && published.has(p.alert.alert_id)))
      .map((p) => (p.owner === claimant.id ? { ...p, until: 0 } : p)),
  };
}

/**
 * A reading that reached Kinesis this long after IoT Core received it was put back on the stream
 * (a redrive), not delivered by the topic rule, which writes within milliseconds.
 */
export const REPLAYED_AFTER_MS = 60_000;

/**
 * Sensors with replayed readings in this batch (records put back on the stream, a redrive): the
 * only ones whose readings may be older than readings already processed since, which the alert
 * state does not record unless they caused a transition. (Deliveries of the stream's own records,
 * retries and resumes included, keep each sensor's order, so they need no such check.)
 */
export const replayedSensors = (sensors: readonly SensorReadings[]): SensorReadings[] => sensors.filter((s) => s.readings.some((x) => x.replayed));
