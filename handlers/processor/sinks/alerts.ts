/**
 * The alert sink: the pure planner decides each sensor's transitions (core/alerts.ts); the alert
 * store commits them (conditional on the stored version) with the alerts in an outbox; the event
 * bus takes the alerts; the outbox is cleared of what went out. What did not go out stays pending
 * and its sensor's records are retried, so the next delivery publishes it.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishAlerts } from '../adapters/alert-publisher';
import { AlertStore } from '../adapters/alert-store';
import { mapPool } from '../adapters/aws-calls';
import { latestReadingTimes } from '../adapters/latest-reading';
import { lateSensors, mayEscalate, planAlerts, type AlertDetail, type AlertPolicy, type AlertState } from '../core/alerts';
import type { Rollup } from '../core/rollup';
import { errorDetail } from '../log';
import type { Sink } from './sink';

export interface AlertSinkOptions {
  dynamodb: DynamoDBClient;
  eventbridge: EventBridgeClient;
  alertStateTableName: string;
  /** The readings table: for late readings, the newest reading already stored. */
  readingsTableName: string;
  eventBusName: string;
  policy: AlertPolicy;
}

/**
 * For late sensors, the newest stored reading when it is newer than all of the batch's readings of
 * that sensor (then the batch's readings are stale). The readings sink writes this batch's readings
 * at the same time, but never anything newer than the batch's own newest reading.
 */
async function seenUntil(
  options: AlertSinkOptions,
  late: Rollup[],
  context: Parameters<Sink>[1],
): Promise<Map<string, number>> {
  if (late.length === 0) return new Map();
  const stored = await latestReadingTimes(options.dynamodb, options.readingsTableName, late.map((r) => r.sensorId), context.io, context.counter);
  return new Map(late.flatMap((r) => {
    const t = stored.get(r.sensorId);
    return t !== undefined && t > r.last.timestampMs ? [[r.sensorId, t] as const] : [];
  }));
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
      newer = await seenUntil(options, lateSensors(batch.rollups.filter((r) => states.has(r.sensorId)), now()), context);
    } catch (error) {
      // Without the state no transition can be decided, and any sensor may be elevated: retry them all
      // (their items are written; rewriting them on the retry changes nothing).
      io.log('ERROR', 'Alert state unavailable: retrying every sensor of the batch', errorDetail(error));
      return { failedRecords: recordsOf(bySensor.keys()) };
    }

    const detectedAt = new Date(now()).toISOString();
    const planned = planAlerts(batch.rollups, states, policy, detectedAt, newer);
    const toPublish: { state: AlertState; alerts: AlertDetail[] }[] = [];
    await mapPool(planned, io.concurrency, async ({ rollup, previous, decision }) => {
      if (decision.changed) {
        const outcome = await store.commit(previous, decision.next, rollup.zoneId, detectedAt);
        if (outcome === 'failed') return void failedSensors.add(rollup.sensorId);
        // Someone else moved this sensor's state on (a replay or a concurrent batch): theirs stands.
        if (outcome === 'conflict') return void io.log('WARN', 'Alert state changed concurrently', { sensor_id: rollup.sensorId });
      }
      if (decision.next.pending.length > 0) toPublish.push({ state: decision.next, alerts: decision.next.pending });
    });

    const result = await publishAlerts(options.eventbridge, options.eventBusName, toPublish.flatMap((p) => p.alerts), io, counter);
    for (const alert of result.failed) failedSensors.add(alert.sensor_id);
    // Alert latency, except for alerts raised by replayed readings (a redrive is not an SLO breach).
    const replayed = new Set(batch.rollups.flatMap((r) => r.readings.filter((x) => x.replayed).map((x) => `${r.sensorId} ${x.timestamp}`)));
    const alertMs: number[] = [];
    for (const p of toPublish) {
      for (const a of p.alerts) {
        const at = result.published.get(a.alert_id);
        if (at !== undefined && !replayed.has(`${a.sensor_id} ${a.reading_time}`)) alertMs.push(at - a.received_at);
      }
    }
    // Outbox: clear what went out; what did not stays pending and is sent again on the retry.
    await mapPool(
      toPublish.filter((p) => p.alerts.every((a) => result.published.has(a.alert_id))),
      io.concurrency,
      async (p) => {
        const cleared = await store.clearPending(p.state);
        if (cleared !== 'committed') {
          io.log('WARN', 'Outbox not cleared: its alerts may be published again', { sensor_id: p.state.sensorId, outcome: cleared });
        }
      },
    );
    return {
      failedRecords: recordsOf(failedSensors),
      counts: {
        alertsPublished: result.published.size,
        alertsSuppressed: planned.reduce((n, p) => n + p.decision.suppressed, 0),
        alertsStale: planned.reduce((n, p) => n + p.decision.stale, 0),
      },
      latencies: { alertMs },
    };
  };
}
