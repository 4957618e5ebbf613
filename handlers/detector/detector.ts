/**
 * The silent-sensor detector: a second entry point of the processor bundle (`index.detector`, the
 * processor's handlers/processor/index.ts exports it, so the template's Handler is the same), run
 * every minute by an EventBridge Scheduler schedule. Its own folder; the processor's pure core
 * (core/health.ts), adapters (adapters/health-store.ts) and settings reader are shared.
 *
 * One run: read the health table (the expected sensors), read which sensors have a rollup window
 * in the last SilentSensorPeriods periods (keys of the zone index the processor already writes: no
 * write is added to the data path), decide the transitions (core/health.ts), write each one conditioned on the version it read with its event in
 * the item's outbox, publish the events, empty the outboxes, and emit per-zone metrics.
 *
 * Exactly once, as the alerts: overlapping runs and retries write a transition once (the version
 * condition) and publish its event once (the claim); an event whose publisher died is published by
 * the first run after its claim lapses. A PutEvents whose answer is lost is retried, so a subscriber
 * may see an event_id twice (EventBridge has no idempotency key).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IoTClient } from '@aws-sdk/client-iot';
import type { Context } from 'aws-lambda';
import { DETECTOR_RESOURCES, DETECTOR_SETTINGS, type DetectorResource } from '../../contract';
import { mapPool } from '../processor/adapters/aws-calls';
import { healthWriter, publishHealthEvents, recentWindowKeys, registryZones, scanHealth } from '../processor/adapters/health-store';
import { latestReadingTimes } from '../processor/adapters/latest-reading';
import {
  healthEmfDocuments,
  healthEvent,
  planHealth,
  reportingCutoffMs,
  sightings,
  type HealthAction,
  type HealthEvent,
  type Sighting,
  type ZoneHealth,
} from '../processor/core/health';
import { readFunctionEnv, type FunctionConfig } from '../processor/function-env';
import { CallCounter, invocationIo, type FunctionDeps, type IoTuning, type SendOnly } from '../processor/io';
import { CLAIM_MARGIN_MS } from '../processor/limits';

export type DetectorConfig = FunctionConfig<DetectorResource, typeof DETECTOR_SETTINGS>;

/** Reads and checks the detector's variables (contract/health.ts, contract/env.ts); one error lists every problem. */
export const readDetectorConfig = (env: Record<string, string | undefined>): DetectorConfig => readFunctionEnv('detector', DETECTOR_RESOURCES, DETECTOR_SETTINGS, env);

export type DetectorClients = SendOnly<{ dynamodb: DynamoDBClient; eventbridge: EventBridgeClient; iot: IoTClient }>;

export interface DetectorDeps extends FunctionDeps<DetectorConfig, DetectorClients> {
  /** Identifies this run's claims (a fresh UUID by default). */
  runId?: string;
  io?: IoTuning;
}

export interface DetectorOutcome {
  inserted: number;
  silenced: number;
  recovered: number;
  /** Events of earlier runs whose claim lapsed, taken over by this one. */
  republished: number;
  eventsPublished: number;
  /** Events written but not taken by EventBridge: released for the next run. */
  eventsPending: number;
  zones: ZoneHealth[];
  calls: Record<string, number>;
}

/** Time kept back from the Lambda timeout so that a run always ends by itself. */
export const DETECTOR_SAFETY_MARGIN_MS = 2_000;

/** One run of the detector, `remainingMs` before the Lambda timeout. Throws only when AWS keeps failing. */
export async function runDetector(deps: DetectorDeps, remainingMs: number): Promise<DetectorOutcome> {
  const { config, clients } = deps;
  const now = deps.now ?? Date.now;
  const write = deps.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const startedAt = now();
  const runId = deps.runId ?? randomUUID();
  const io = invocationIo({ deadlineMs: startedAt + remainingMs - DETECTOR_SAFETY_MARGIN_MS, now, write, tuning: deps.io, sleep: deps.sleep, random: deps.random });
  const counter = new CallCounter();
  const dynamodb = clients.dynamodb as DynamoDBClient;

  const [known, registered] = await Promise.all([
    scanHealth(dynamodb, config.healthTableName, io, counter),
    registryZones(clients.iot as IoTClient, config.zoneParentGroup, io, counter),
  ]);
  // The registry's zones, and those of sensors already known (a zone group deleted later still has sensors).
  const zones = [...new Set([...registered, ...known.map((k) => k.zoneId).filter((z) => z !== '')])].sort();
  const keys = await recentWindowKeys(dynamodb, config.readingsTableName, zones, config.zoneIndexShards, reportingCutoffMs(startedAt, config), io, counter);
  const plan = planHealth(known, sightings(keys), startedAt);
  if (plan.silencesHeld > 0) {
    io.log('WARN', 'Most of the fleet looks silent: the pipeline is stopped or behind; no silence declared', { silences_held: plan.silencesHeld });
  }

  const silencing = plan.actions.flatMap((a) => (a.kind === 'transition' && a.to === 'SILENT' ? [a.item.sensorId] : []));
  const lastSeen = silencing.length > 0 ? await latestReadingTimes(dynamodb, config.readingsTableName, silencing, io, counter) : new Map<string, number>();

  const writer = healthWriter(dynamodb, config.healthTableName, io, counter);
  const claim = { runId, untilMs: startedAt + remainingMs + CLAIM_MARGIN_MS, nowMs: startedAt };
  const forgetAtSeconds = Math.floor(startedAt / 1000) + config.forgetSilentSensorDays * 86_400;
  const outcome: DetectorOutcome = { inserted: 0, silenced: 0, recovered: 0, republished: 0, eventsPublished: 0, eventsPending: 0, zones: plan.zones, calls: counter.counts };
  const toPublish: { sensorId: string; event: HealthEvent; json: string }[] = [];

  // First sightings go 100 to a call (a new fleet sights every sensor at once); the rest one by one.
  const writeFirstSightings = async (sightings: readonly Sighting[]): Promise<void> => {
    if (sightings.length === 0) return;
    const outcomes = await writer.insertAll(sightings, startedAt);
    outcome.inserted = outcomes.filter((o) => o.kind === 'written').length;
    // A conflict: another run inserted the sensor. Not written in time: they are the next run's sightings too.
    const late = outcomes.filter((o) => o.kind === 'failed').length;
    if (late > 0) io.log('WARN', 'First sightings not written in time: the next run writes them', { sightings: late });
  };
  const inserts = plan.actions.flatMap((a) => (a.kind === 'insert' ? [a.sighting] : []));
  const others = plan.actions.filter((a): a is Exclude<HealthAction, { kind: 'insert' }> => a.kind !== 'insert');
  const writeOthers = () =>
    mapPool(others, io.concurrency, async (action) => {
      switch (action.kind) {
        case 'rezone':
          await writer.rezone(action.item, action.zoneId);
          return;
        case 'transition': {
          const seenMs = lastSeen.get(action.item.sensorId);
          const event = healthEvent(action.item, action.to, action.zoneId, action.item.version + 1, startedAt, config, seenMs === undefined ? undefined : new Date(seenMs).toISOString());
          // A failed condition: another run wrote this sensor since it was read; the next run decides again.
          if (await writer.transition(action.item, action.to, action.zoneId, event, claim, forgetAtSeconds)) {
            if (action.to === 'SILENT') outcome.silenced++;
            else outcome.recovered++;
            toPublish.push({ sensorId: action.item.sensorId, event, json: JSON.stringify(event) });
          }
          return;
        }
        case 'republish': {
          if (await writer.claim(action.item, claim)) {
            outcome.republished++;
            toPublish.push({ sensorId: action.item.sensorId, event: JSON.parse(action.item.pendingEvent!) as HealthEvent, json: action.item.pendingEvent! });
          }
          return;
        }
      }
    });
  await Promise.all([writeFirstSightings(inserts), writeOthers()]);

  const failed = new Set((await publishHealthEvents(clients.eventbridge as EventBridgeClient, config.eventBusName, toPublish.map((p) => p.event), io, counter)).map((e) => e.event_id));
  await mapPool(toPublish, io.concurrency, async (p) => {
    if (failed.has(p.event.event_id)) {
      outcome.eventsPending++;
      await writer.release(p.sensorId, p.json, runId);
    } else {
      outcome.eventsPublished++;
      await writer.clear(p.sensorId, p.json, runId);
    }
  });

  for (const line of healthEmfDocuments(config.metricsNamespace, startedAt, plan, outcome.eventsPublished)) write(line);
  io.log('INFO', 'Detector run', {
    expected: plan.zones.reduce((n, z) => n + z.expected, 0),
    reporting: plan.zones.reduce((n, z) => n + z.reporting, 0),
    inserted: outcome.inserted,
    silenced: outcome.silenced,
    silences_held: plan.silencesHeld,
    recovered: outcome.recovered,
    republished: outcome.republished,
    events_published: outcome.eventsPublished,
    events_pending: outcome.eventsPending,
    calls: counter.counts,
  });
  return outcome;
}

let lambdaDeps: DetectorDeps | undefined;

/** The Lambda handler (`index.detector`): configuration and clients once per container. */
export async function detector(_event: unknown, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<Omit<DetectorOutcome, 'zones'>> {
  lambdaDeps ??= {
    config: readDetectorConfig(process.env),
    // The SDK retries once; the adapters retry on top, within the run's deadline. AWS_ENDPOINT_URL reaches an emulator.
    clients: { dynamodb: new DynamoDBClient({ maxAttempts: 2 }), eventbridge: new EventBridgeClient({ maxAttempts: 2 }), iot: new IoTClient({ maxAttempts: 2 }) },
  };
  const { zones: _, ...outcome } = await runDetector(lambdaDeps, context.getRemainingTimeInMillis());
  return outcome;
}
