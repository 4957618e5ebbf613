/**
 * One Kinesis batch, end to end: the pure core decides, the adapters write. Every record ends in
 * exactly one place: stored, quarantined, or reported back for retry (batchItemFailures).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { publishAlerts } from './adapters/alert-publisher';
import { clearPending, commitState, findElevated, loadStates } from './adapters/alert-store';
import { CallCounter, DEFAULT_IO, mapPool, type IoContext } from './adapters/io';
import { quarantine } from './adapters/quarantine';
import { writeItems } from './adapters/readings-writer';
import type { ProcessorConfig } from './config';
import { decide, mayEscalate, type AlertDetail, type AlertState } from './core/alerts';
import { analyseBatch } from './core/batch';
import { elevatedBucket } from './core/hash';
import { emfDocuments } from './core/metrics';
import type { Rollup } from './core/rollup';
import type { InputRecord } from './core/types';

export interface Clients {
  dynamodb: DynamoDBClient;
  eventbridge: EventBridgeClient;
  sqs: SQSClient;
}

export interface HandlerDeps {
  config: ProcessorConfig;
  clients: Clients;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Where EMF metric documents and log lines go (stdout in Lambda). */
  write?: (line: string) => void;
  io?: Partial<Pick<IoContext, 'callTimeoutMs' | 'concurrency' | 'backoffBaseMs' | 'backoffCapMs'>>;
}

/** Time kept back from the Lambda timeout so the handler can always answer. */
export const SAFETY_MARGIN_MS = 2_000;

export interface BatchOutcome {
  response: KinesisStreamBatchResponse;
  stored: number;
  quarantined: number;
  retried: number;
  itemsWritten: number;
  alertsPublished: number;
  alertsSuppressed: number;
  calls: Record<string, number>;
}

export function toInputRecords(event: KinesisStreamEvent): InputRecord[] {
  return event.Records.map((r) => ({
    sequenceNumber: r.kinesis.sequenceNumber,
    partitionKey: r.kinesis.partitionKey,
    data: r.kinesis.data,
    approximateArrivalMs: Math.round(r.kinesis.approximateArrivalTimestamp * 1000),
    shardId: r.eventID.slice(0, r.eventID.indexOf(':') >>> 0),
  }));
}

interface AlertWork {
  /** Sensors whose records must be retried (state unreadable, commit or publish failed). */
  failedSensors: Set<string>;
  published: number;
  suppressed: number;
  latenciesMs: number[];
}

async function handleAlerts(
  rollups: Rollup[],
  deps: Required<Omit<HandlerDeps, 'io'>>,
  io: IoContext,
  counter: CallCounter,
  log: (message: string, detail: object) => void,
): Promise<AlertWork> {
  const { config, clients } = deps;
  const table = config.alertStateTableName;
  const work: AlertWork = { failedSensors: new Set(), published: 0, suppressed: 0, latenciesMs: [] };
  const bySensor = new Map(rollups.map((r) => [r.sensorId, r]));

  let states: Map<string, AlertState>;
  try {
    const buckets = [...new Set(rollups.map((r) => elevatedBucket(r.sensorId)))];
    const elevated = await findElevated(clients.dynamodb, table, buckets, io, counter);
    const candidates = rollups
      .filter((r) => elevated.has(r.sensorId) || mayEscalate(r.readings, config.thresholds))
      .map((r) => r.sensorId);
    states = await loadStates(clients.dynamodb, table, candidates, io, counter);
  } catch (error) {
    // Without the state no transition can be decided, and any sensor may be elevated: retry them all
    // (their items are written; rewriting them on the retry changes nothing).
    log('Alert state unavailable', { error: String(error) });
    for (const r of rollups) work.failedSensors.add(r.sensorId);
    return work;
  }

  const detectedAt = new Date(deps.now()).toISOString();
  const toPublish: { state: AlertState; alerts: AlertDetail[] }[] = [];
  await mapPool([...states.values()], io.concurrency, async (state) => {
    const rollup = bySensor.get(state.sensorId)!;
    const decision = decide(state, rollup.readings, config, detectedAt);
    work.suppressed += decision.suppressed;
    if (decision.changed) {
      const outcome = await commitState(clients.dynamodb, table, state, decision.next, rollup.zoneId, detectedAt, io, counter);
      if (outcome === 'failed') return void work.failedSensors.add(state.sensorId);
      // Someone else moved this sensor's state on (a replay or a concurrent batch): theirs stands.
      if (outcome === 'conflict') return void log('Alert state changed concurrently', { sensor_id: state.sensorId });
    }
    if (decision.next.pending.length > 0) toPublish.push({ state: decision.next, alerts: decision.next.pending });
  });

  const result = await publishAlerts(
    clients.eventbridge,
    config.eventBusName,
    toPublish.flatMap((p) => p.alerts),
    io,
    counter,
    log,
  );
  for (const alert of result.failed) work.failedSensors.add(alert.sensor_id);
  work.published = result.published.size;
  for (const p of toPublish) {
    for (const a of p.alerts) {
      const at = result.published.get(a.alert_id);
      if (at !== undefined) work.latenciesMs.push(at - a.received_at);
    }
  }
  // Outbox: clear what went out; what did not stays pending and is sent again on the retry.
  await mapPool(
    toPublish.filter((p) => p.alerts.every((a) => result.published.has(a.alert_id))),
    io.concurrency,
    (p) => clearPending(clients.dynamodb, table, p.state, io, counter),
  );
  return work;
}

export async function processBatch(event: KinesisStreamEvent, context: Pick<Context, 'getRemainingTimeInMillis'>, options: HandlerDeps): Promise<BatchOutcome> {
  const deps = {
    now: Date.now,
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    random: Math.random,
    write: (line: string) => process.stdout.write(`${line}\n`),
    ...options,
  };
  const { config, clients } = deps;
  const startedAt = deps.now();
  const io: IoContext = {
    ...DEFAULT_IO,
    ...options.io,
    deadlineMs: startedAt + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    now: deps.now,
    sleep: deps.sleep,
    random: deps.random,
  };
  const log = (message: string, detail: object) =>
    deps.write(JSON.stringify({ level: 'WARN', message, ...detail, timestamp: new Date(deps.now()).toISOString() }));
  const counter = new CallCounter();

  const records = toInputRecords(event);
  const batch = analyseBatch(records, {
    thresholds: config.thresholds,
    window: { nowMs: startedAt, maxAgeMs: config.streamRetentionHours * 3_600_000 },
    zoneIndexShards: config.zoneIndexShards,
    ttlDays: config.ttlDays,
  });
  for (const q of batch.quarantined) {
    log('Reading quarantined', { reason: q.reason, sequence_number: q.record.sequenceNumber, shard_id: q.record.shardId });
  }

  let storedAt = startedAt;
  const [written, sent, alerts] = await Promise.all([
    writeItems(clients.dynamodb, config.tableName, batch.items, io, counter, log).then((result) => {
      storedAt = deps.now();
      return result;
    }),
    quarantine(clients.sqs, config.quarantineQueueUrl, batch.quarantined, io, counter, log),
    handleAlerts(batch.rollups, deps, io, counter, log),
  ]);

  const retry = new Set<number>();
  for (const i of written.failed) for (const r of batch.rollups[i]!.recordIndices) retry.add(r);
  for (const i of sent.failed) retry.add(batch.quarantined[i]!.index);
  for (const rollup of batch.rollups) {
    if (alerts.failedSensors.has(rollup.sensorId)) for (const r of rollup.recordIndices) retry.add(r);
  }
  const retriedQuarantined = sent.failed.length;
  const outcome: BatchOutcome = {
    response: { batchItemFailures: [...retry].sort((a, b) => a - b).map((i) => ({ itemIdentifier: records[i]!.sequenceNumber })) },
    stored: records.length - batch.quarantined.length - (retry.size - retriedQuarantined),
    quarantined: batch.quarantined.length - retriedQuarantined,
    retried: retry.size,
    itemsWritten: batch.items.length - written.failed.length,
    alertsPublished: alerts.published,
    alertsSuppressed: alerts.suppressed,
    calls: counter.counts,
  };
  for (const line of emfDocuments(
    config.metricsNamespace,
    startedAt,
    {
      recordsIn: records.length,
      recordsStored: outcome.stored,
      recordsQuarantined: outcome.quarantined,
      recordsRetried: outcome.retried,
      itemsWritten: outcome.itemsWritten,
      alertsPublished: outcome.alertsPublished,
      alertsSuppressed: outcome.alertsSuppressed,
    },
    { endToEndMs: batch.receivedAtMs.map((receivedAt) => storedAt - receivedAt), alertMs: alerts.latenciesMs },
    batch.zones,
  )) {
    deps.write(line);
  }
  return outcome;
}
