/**
 * The alert sink: the pure state machine decides each sensor's transitions (core/alerts.ts); the
 * alert store writes the new state (conditional on the version it read: a conflict is read again
 * and decided again, so a concurrent writer's work is kept and readings it already took are
 * stale), with the new alerts in an outbox claimed by this invocation; the event bus takes the
 * alerts this invocation owns; the outbox is then cleared of what went out. What did not go out
 * stays, its claim released, and its sensor's records are retried, so it is published again.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { randomUUID } from 'node:crypto';
import { publishAlerts } from '../adapters/alert-publisher';
import { AlertStore } from '../adapters/alert-store';
import { mapPool } from '../adapters/aws-calls';
import { latestReadingTimes } from '../adapters/latest-reading';
import {
  afterPublish,
  decide,
  mayEscalate,
  ownedAlerts,
  replayedSensors,
  type AlertPolicy,
  type AlertState,
  type Claimant,
  type Decision,
} from '../core/alerts';
import type { Rollup } from '../core/rollup';
import { errorDetail } from '../log';
import type { Sink, SinkContext } from './sink';

/** Calls' worth of time an invocation must have left to publish: the outbox clear after it. */
const PUBLISH_RESERVE_CALLS = 1;

/** Conflicting writes to one sensor's state (concurrent attempts) before its records are left for a retry. */
export const MAX_CONFLICTS = 5;

export interface AlertSinkOptions {
  dynamodb: DynamoDBClient;
  eventbridge: EventBridgeClient;
  alertStateTableName: string;
  /** The readings table: for replayed readings, the newest reading already stored. */
  readingsTableName: string;
  eventBusName: string;
  policy: AlertPolicy;
}

/**
 * For sensors with replayed readings, the newest stored reading when it is newer than all of the
 * batch's readings of that sensor (then the batch's readings are stale: the sensor has moved on). The readings sink writes this batch's readings
 * at the same time, but never anything newer than the batch's own newest reading.
 */
async function seenUntil(options: AlertSinkOptions, replayed: Rollup[], context: SinkContext): Promise<Map<string, number>> {
  if (replayed.length === 0) return new Map();
  const stored = await latestReadingTimes(options.dynamodb, options.readingsTableName, replayed.map((r) => r.sensorId), context.io, context.counter);
  return new Map(
    replayed.flatMap((r) => {
      const t = stored.get(r.sensorId);
      return t !== undefined && t > r.last.timestampMs ? [[r.sensorId, t] as const] : [];
    }),
  );
}

/**
 * Writes `next` over `state`; on a conflict reads what won and lets `redo` decide again on it.
 * Answers the state written (or the state that stands when there was nothing to write), or
 * undefined when the write could not be made.
 */
async function writeState(
  store: AlertStore,
  sensorId: string,
  zoneId: string,
  updatedAt: string,
  state: AlertState,
  redo: (stored: AlertState) => AlertState | undefined,
  log: SinkContext['io']['log'],
): Promise<AlertState | undefined> {
  let current = state;
  for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
    const next = redo(current);
    if (!next) return current;
    const outcome = await store.commit(current, next, zoneId, updatedAt);
    if (outcome === 'committed') return next;
    if (outcome === 'failed') return undefined;
    log('WARN', 'Alert state changed concurrently: deciding again on what was written', { sensor_id: sensorId });
    try {
      current = await store.get(sensorId);
    } catch (error) {
      log('ERROR', 'Alert state unreadable after a conflict', { sensor_id: sensorId, ...errorDetail(error) });
      return undefined;
    }
  }
  log('ERROR', 'Alert state: too many concurrent writers', { sensor_id: sensorId });
  return undefined;
}

/** The alert sink for one processor (clients, table, bus and policy fixed per container). */
export function alertSink(options: AlertSinkOptions): Sink {
  const { policy } = options;
  return async (batch, context) => {
    const { io, counter, now } = context;
    const store = new AlertStore({ client: options.dynamodb, tableName: options.alertStateTableName, io, counter });
    const bySensor = new Map(batch.rollups.map((r) => [r.sensorId, r]));
    const failedSensors = new Set<string>();
    const recordsOf = (sensors: Iterable<string>) => [...sensors].flatMap((id) => bySensor.get(id)!.recordIndices);

    let states: Map<string, AlertState>;
    let newer: Map<string, number>;
    try {
      states = await store.load([...bySensor.keys()], (id) => mayEscalate(bySensor.get(id)!.readings, policy.thresholds));
      newer = await seenUntil(options, replayedSensors(batch.rollups.filter((r) => states.has(r.sensorId))), context);
    } catch (error) {
      // Without the state no transition can be decided, and any sensor may be elevated: retry them all
      // (their items are written; merging them again on the retry changes nothing).
      io.log('ERROR', 'Alert state unavailable: retrying every sensor of the batch', errorDetail(error));
      return { failedRecords: recordsOf(bySensor.keys()) };
    }

    const claimant: Claimant = { id: randomUUID(), deadlineMs: io.deadlineMs, nowMs: now() };
    const updatedAt = new Date(claimant.nowMs).toISOString();
    const decisions: Decision[] = [];
    const owned: AlertState[] = [];
    await mapPool([...states.values()], io.concurrency, async (loaded) => {
      const rollup = bySensor.get(loaded.sensorId)!;
      let last: Decision | undefined;
      const written = await writeState(store, rollup.sensorId, rollup.zoneId, updatedAt, loaded, (stored) => {
        last = decide(stored, rollup.readings, policy, claimant, newer.get(rollup.sensorId));
        return last.changed ? last.next : undefined;
      }, io.log);
      if (last) decisions.push(last);
      if (!written) failedSensors.add(rollup.sensorId);
      else if (ownedAlerts(written, claimant).length > 0) owned.push(written);
    });

    // Publishing with no time left to clear the outbox would publish the alerts again once their
    // claim lapses. With less than a call's time left (for the clear), they are not published but
    // released below and their records retried, as if EventBridge had refused them. (A clear
    // throttled until the deadline still leaves the alerts to go out again: the README says so.)
    const timeToClear = io.deadlineMs - io.now() >= PUBLISH_RESERVE_CALLS * io.callTimeoutMs;
    const claimed = owned.flatMap((state) => ownedAlerts(state, claimant));
    const toPublish = timeToClear ? claimed : [];
    if (!timeToClear && claimed.length > 0) {
      io.log('WARN', 'Too little time left to publish and clear the outbox: alerts released, their records retried', { alerts: claimed.length });
      for (const alert of claimed) failedSensors.add(alert.sensor_id);
    }
    const result = await publishAlerts(options.eventbridge, options.eventBusName, toPublish, io, counter);
    for (const alert of result.failed) failedSensors.add(alert.sensor_id);
    // Alert latency, except for alerts raised by replayed readings (a redrive is not an SLO breach).
    const replayed = new Set(batch.rollups.flatMap((r) => r.readings.filter((x) => x.replayed).map((x) => `${r.sensorId} ${x.timestamp}`)));
    const alertMs: number[] = [];
    for (const a of toPublish) {
      const at = result.published.get(a.alert_id);
      if (at !== undefined && !replayed.has(`${a.sensor_id} ${a.reading_time}`)) alertMs.push(at - a.received_at);
    }

    // The outbox: what went out leaves it, what did not is released for the retry.
    const published = new Set(result.published.keys());
    await mapPool(owned, io.concurrency, async (state) => {
      const rollup = bySensor.get(state.sensorId)!;
      const cleared = await writeState(store, state.sensorId, rollup.zoneId, updatedAt, state, (stored) => {
        const next = afterPublish(stored, published, claimant);
        return ownedAlerts(stored, claimant).length > 0 ? next : undefined;
      }, io.log);
      if (!cleared) {
        io.log('WARN', 'Outbox not cleared: its alerts are published again once their claim lapses', { sensor_id: state.sensorId });
      }
    });
    return {
      failedRecords: recordsOf(failedSensors),
      counts: {
        alertsPublished: result.published.size,
        alertsSuppressed: decisions.reduce((n, d) => n + d.suppressed, 0),
        alertsStale: decisions.reduce((n, d) => n + d.stale, 0),
      },
      latencies: { alertMs },
    };
  };
}
