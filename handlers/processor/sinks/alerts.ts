/**
 * The alert sink: the pure state machine decides each sensor's transitions (core/alerts.ts); the
 * alert store writes the new states (each conditional on the version it read, all of a batch's
 * together: a conflict is decided again on the item that won, so a concurrent writer's work is
 * kept and readings it already took are stale), with the new alerts in an outbox claimed by this
 * invocation; the event bus takes the alerts this invocation owns; the outbox is then cleared of
 * what went out. What did not go out stays, its claim released, and its sensor's records are
 * retried, so it is published again.
 *
 * Time: the four steps run one after another, so each gets a share of the time left when it
 * starts (STEP_SHARES: reading the state two fifths, the commits a third of what is then left,
 * publishing half of the rest, clearing the rest), and a step that finishes early leaves its time
 * to the next.
 * Publishing thus always leaves the clear as much time as it took itself, whatever the Lambda's
 * timeout and however long this invocation's calls take.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { randomUUID } from 'node:crypto';
import { publishAlerts } from '../adapters/alert-publisher';
import { AlertStore, type StateChange } from '../adapters/alert-store';
import { shareOfTimeLeft } from '../adapters/aws-calls';
import type { IoContext } from '../io';
import { latestReadingTimes } from '../adapters/latest-reading';
import type { SensorReadings } from '../core/batch';
import {
  afterPublish,
  decide,
  mayEscalate,
  ownedAlerts,
  replayedSensors,
  type AlertDetail,
  type AlertPolicy,
  type AlertState,
  type Claimant,
  type Decision,
} from '../core/alerts';
import { MAX_CONFLICTS } from '../limits';
import { errorDetail } from '../log';
import type { Sink, SinkContext } from './sink';


/**
 * Shares of the time left that reading the state, committing and publishing may use (the clear has
 * the rest), by the rounds of calls each takes: reading two (the elevated index, then the states),
 * the others one each. With every step at its limit, a 10 s invocation (9 s to its deadline) gives
 * the read 3.6 s and the others 1.8 s each: several calls' time each, throttled, at 0.5 s a call.
 */
export const STEP_SHARES = { read: 2 / 5, commit: 1 / 3, publish: 1 / 2 } as const;

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
async function seenUntil(options: AlertSinkOptions, replayed: SensorReadings[], io: IoContext, context: SinkContext): Promise<Map<string, number>> {
  if (replayed.length === 0) return new Map();
  const stored = await latestReadingTimes(options.dynamodb, options.readingsTableName, replayed.map((r) => r.sensorId), io, context.counter);
  return new Map(
    replayed.flatMap((r) => {
      const t = stored.get(r.sensorId);
      return t !== undefined && t > r.lastMs ? [[r.sensorId, t] as const] : [];
    }),
  );
}

/** The alert sink for one processor (clients, table, bus and policy fixed per container). */
export function alertSink(options: AlertSinkOptions): Sink {
  const { policy } = options;
  return async (batch, context) => {
    const { io, counter, now } = context;
    const storeAt = (stepIo: IoContext) => new AlertStore({ client: options.dynamodb, tableName: options.alertStateTableName, io: stepIo, counter });
    const { sensors } = batch;
    const failedSensors = new Set<string>();
    const recordsOf = (of: Iterable<SensorReadings>) => [...of].flatMap((s) => s.readings.map((r) => r.recordIndex));

    let states: Map<string, AlertState>;
    let newer: Map<string, number>;
    /** The sensors whose state was read (those that may transition): the only ones looked up by id. */
    let bySensor: Map<string, SensorReadings>;
    try {
      const readIo = shareOfTimeLeft(io, STEP_SHARES.read);
      states = await storeAt(readIo).load(
        sensors.map((s) => s.sensorId),
        (i) => mayEscalate(sensors[i]!.readings, policy.thresholds),
      );
      bySensor = new Map(states.size > 0 ? sensors.filter((s) => states.has(s.sensorId)).map((s) => [s.sensorId, s]) : []);
      newer = await seenUntil(options, replayedSensors([...bySensor.values()]), readIo, context);
    } catch (error) {
      // Without the state no transition can be decided, and any sensor may be elevated: retry them all
      // (their items are written; merging them again on the retry changes nothing).
      io.log('ERROR', 'Alert state unavailable: retrying every sensor of the batch', errorDetail(error));
      return { failedRecords: recordsOf(sensors) };
    }

    const claimant: Claimant = { id: randomUUID(), deadlineMs: io.deadlineMs, nowMs: now() };
    const updatedAt = new Date(claimant.nowMs).toISOString();
    const decisions = new Map<string, Decision>();
    const transitions: StateChange[] = [...states.values()].map((loaded) => {
      const sensor = bySensor.get(loaded.sensorId)!;
      return {
        sensorId: sensor.sensorId,
        zoneId: sensor.zoneId,
        updatedAt,
        state: loaded,
        redo: (stored) => {
          const decision = decide(stored, sensor.readings, policy, claimant, newer.get(sensor.sensorId));
          decisions.set(sensor.sensorId, decision);
          return decision.changed ? decision.next : undefined;
        },
      };
    });
    const committed = await storeAt(shareOfTimeLeft(io, STEP_SHARES.commit)).writeAll(transitions, MAX_CONFLICTS);
    const owned: AlertState[] = [];
    for (const [sensorId, written] of committed) {
      if (!written) failedSensors.add(sensorId);
      else if (ownedAlerts(written, claimant).length > 0) owned.push(written);
    }

    // Publishing takes at most half the time left, so that the clear has the other half. With less
    // than a call's time (as long as this invocation's calls took), the alerts are not published but
    // released below and their records retried, as if EventBridge had refused them: publishing
    // without time to clear the outbox would publish them again once their claim lapses.
    const publishIo = shareOfTimeLeft(io, STEP_SHARES.publish);
    const timeToPublish = publishIo.deadlineMs - io.now() > (io.latency?.expectedMs() ?? 0);
    const claimed = owned.flatMap((state) => ownedAlerts(state, claimant));
    const toPublish = timeToPublish ? claimed : [];
    if (!timeToPublish && claimed.length > 0) {
      io.log('WARN', 'Too little time left to publish and clear the outbox: alerts released, their records retried', { alerts: claimed.length });
      for (const alert of claimed) failedSensors.add(alert.sensor_id);
    }
    const result = await publishAlerts(options.eventbridge, options.eventBusName, toPublish, publishIo, counter);
    for (const alert of result.failed) failedSensors.add(alert.sensor_id);
    if (result.failed.length > 0) {
      // Refused, unanswered or out of time: published again with their records' retry. Where the
      // answer was lost after EventBridge took them, a subscriber sees these alert_ids twice (the
      // delivery contract's first limit): the ids say which.
      io.log('WARN', 'Alerts not confirmed published: released, published again with the retry', { alert_ids: result.failed.map((a) => a.alert_id) });
    }
    // Alert latency, except for alerts raised by replayed readings (a redrive is not an SLO breach).
    const replayed = (a: AlertDetail) => bySensor.get(a.sensor_id)?.readings.some((x) => x.replayed && x.timestamp === a.reading_time) ?? false;
    const alertMs: number[] = [];
    for (const a of toPublish) {
      const at = result.published.get(a.alert_id);
      if (at !== undefined && !replayed(a)) alertMs.push(at - a.received_at);
    }

    // The outbox: what went out leaves it, what did not is released for the retry.
    const published = new Set(result.published.keys());
    const clears: StateChange[] = owned.map((state) => ({
      sensorId: state.sensorId,
      zoneId: bySensor.get(state.sensorId)!.zoneId,
      updatedAt,
      state,
      redo: (stored) => (ownedAlerts(stored, claimant).length > 0 ? afterPublish(stored, published, claimant) : undefined),
    }));
    const cleared = await storeAt(io).writeAll(clears, MAX_CONFLICTS);
    for (const [sensorId, state] of cleared) {
      if (!state) io.log('WARN', 'Outbox not cleared: its alerts are published again once their claim lapses', { sensor_id: sensorId });
    }
    const all = [...decisions.values()];
    return {
      failedRecords: recordsOf([...failedSensors].map((id) => bySensor.get(id)!)),
      counts: {
        alertsPublished: result.published.size,
        alertsSuppressed: all.reduce((n, d) => n + d.suppressed, 0),
        alertsStale: all.reduce((n, d) => n + d.stale, 0),
      },
      latencies: { alertMs },
    };
  };
}
