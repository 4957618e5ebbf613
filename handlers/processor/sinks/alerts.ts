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
import { mayEscalate, planAlerts, type AlertDetail, type AlertPolicy, type AlertState } from '../core/alerts';
import { errorDetail } from '../log';
import type { Sink } from './sink';

export interface AlertSinkOptions {
  dynamodb: DynamoDBClient;
  eventbridge: EventBridgeClient;
  alertStateTableName: string;
  eventBusName: string;
  policy: AlertPolicy;
}

/** The alert sink for one processor (clients, table, bus and policy fixed per container). */
export function alertSink(options: AlertSinkOptions): Sink {
  const { policy } = options;
  return async (batch, { io, counter, now }) => {
    const store = new AlertStore({ client: options.dynamodb, tableName: options.alertStateTableName, io, counter });
    const bySensor = new Map(batch.rollups.map((r) => [r.sensorId, r]));
    const failedSensors = new Set<string>();
    const recordsOf = (sensors: Iterable<string>) => [...sensors].flatMap((id) => bySensor.get(id)!.recordIndices);

    let states: Map<string, AlertState>;
    try {
      states = await store.load([...bySensor.keys()], (id) => mayEscalate(bySensor.get(id)!.readings, policy.thresholds));
    } catch (error) {
      // Without the state no transition can be decided, and any sensor may be elevated: retry them all
      // (their items are written; rewriting them on the retry changes nothing).
      io.log('ERROR', 'Alert state unavailable: retrying every sensor of the batch', errorDetail(error));
      return { failedRecords: recordsOf(bySensor.keys()) };
    }

    const detectedAt = new Date(now()).toISOString();
    const planned = planAlerts(batch.rollups, states, policy, detectedAt);
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
    const alertMs: number[] = [];
    for (const p of toPublish) {
      for (const a of p.alerts) {
        const at = result.published.get(a.alert_id);
        if (at !== undefined) alertMs.push(at - a.received_at);
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
      counts: { alertsPublished: result.published.size, alertsSuppressed: planned.reduce((n, p) => n + p.decision.suppressed, 0) },
      latencies: { alertMs },
    };
  };
}
