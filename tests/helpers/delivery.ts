/**
 * The exactly-once model: a shard's records (readings of a few sensors and some invalid records),
 * delivered to the real handler under a schedule an event source mapping may produce, against AWS
 * in memory that fails in every way the processor must survive. What the tables, the bus and the
 * quarantine hold afterwards is compared with what the readings alone imply.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { readConfig, type ProcessorConfig } from '../../handlers/processor/config';
import { decide, initialState, type AlertState, type Claimant } from '../../handlers/processor/core/alerts';
import type { EnrichedReading } from '../../handlers/processor/core/types';
import { exampleReading, type RawReading } from '../../contract';
import { processBatch } from '../../handlers/processor/handler';
import { processorSinks } from '../../handlers/processor/outputs';
import type { Sink } from '../../handlers/processor/sinks/sink';
import { deduplicationId } from '../../handlers/processor/adapters/quarantine';
import { FakeAws, type Fault } from '../doubles/fake-aws';
import { processorEnv } from '../../scripts/lib/processor-env';
import { readingRecord, ruleRecordOf } from '../../scripts/lib/rule-record';
import type { IotFacts } from './kinesis';
import { processorTables } from './processor-run';
import { enrich } from './readings';

export const BASE_MS = Date.parse('2026-11-22T08:00:00.000Z');

/**
 * One reading as a sensor sends it, with what IoT Core establishes (receive time, thing): readingRecord
 * lifts those into the rule's record. The fields the model varies, typed by the contract; exampleReading
 * fills in the rest (so a new required field needs no change here).
 */
export type ModelReading = Pick<RawReading, 'sensor_id' | 'zone_id' | 'timestamp' | 'vehicle_count' | 'avg_speed' | 'congestion_index'> &
  Required<Pick<IotFacts, 'received_at' | 'thing_name'>>;

export type ModelRecord = { reading: ModelReading } | { invalid: string };

export interface Scenario {
  records: ModelRecord[];
  /** Added to every record's sequence number (so that two scenarios in one stream differ). */
  firstSequence?: bigint;
}

/** A delivery step of an event source mapping (see deliver()). */
export type Step =
  | { kind: 'next'; size: number; remainingMs: number }
  /** The same batch twice at once: a retry while a timed-out attempt still runs. */
  | { kind: 'overlap'; size: number; remainingMs: number }
  /** An attempt that times out (its outcome is lost; it may still be running) and is bisected. */
  | { kind: 'timeout'; size: number; remainingMs: number }
  /** A range delivered before, delivered again whole (a replay of an earlier batch). */
  | { kind: 'replay'; from: number; size: number; remainingMs: number };

export interface Faults {
  /** Per call, the probability of each fault. */
  throttle: number;
  partial: number;
  lostRequest: number;
  lostResponse: number;
  /** Operations whose responses may be lost after they took effect (the others only lose requests). */
  lostResponseOps: ReadonlySet<string>;
}

export const NO_FAULTS: Faults = { throttle: 0, partial: 0, lostRequest: 0, lostResponse: 0, lostResponseOps: new Set() };

/** A deterministic pseudo-random source. */
export function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const SHARD = 'shardId-000000000000';

/** The Lambda records of a scenario: fixed sequence numbers, so a redelivery is the same record. */
export function streamRecords(scenario: Scenario): KinesisStreamRecord[] {
  return scenario.records.map((r, i) => {
    const sequenceNumber = String(49_700_000_000_000_000_000_000_000_000_000n + (scenario.firstSequence ?? 0n) + BigInt(i));
    const made = 'reading' in r ? readingRecord(exampleReading({ ...r.reading })) : ruleRecordOf({ sent: r.invalid, thing: `bad-${i}` });
    const { partitionKey } = made;
    const data = made.data.toString('base64');
    const arrivalMs = 'reading' in r ? r.reading.received_at + 20 : BASE_MS;
    return {
      kinesis: { kinesisSchemaVersion: '1.0', partitionKey, sequenceNumber, data, approximateArrivalTimestamp: arrivalMs / 1000 },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${SHARD}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/processor',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/tapstack-model-readings',
    };
  });
}

/** AWS in memory with the stack's tables, failing as `faults()` says at each call (so an outage can end), each call answered after `latencyMs`. */
export function modelAws(config: ProcessorConfig, faultsNow: () => Faults, random: () => number, latencyMs = 0): FakeAws {
  return new FakeAws({
    random,
    latencyMs,
    tables: processorTables(config),
    fault: (operation): Fault => {
      const faults = faultsNow();
      const x = random();
      if (x < faults.throttle) return 'throttle';
      if (x < faults.throttle + faults.partial) return 'partial';
      if (x < faults.throttle + faults.partial + faults.lostRequest) return 'lost-request';
      if (x < faults.throttle + faults.partial + faults.lostRequest + faults.lostResponse) {
        return faults.lostResponseOps.has(operation) ? 'lost-response' : 'lost-request';
      }
      return 'ok';
    },
  });
}

/** The processor's configuration from the template's defaults, cooldown off so that every transition alerts. */
export const modelConfig = (): ProcessorConfig => readConfig(processorEnv(undefined, { overrides: { ALERT_COOLDOWN_SECONDS: '0' } }));

export interface DeliveryReport {
  invocations: number;
  /** Virtual time the schedule took (the quarantine's deduplication window is 5 minutes). */
  elapsedMs: number;
  /** Sensors whose outbox an invocation could not clear after publishing (logged): their alerts may go out twice. */
  uncleared: Set<string>;
}

/*
 * An alert whose publisher died (or could not publish and could not release it) is published by
 * the next invocation that takes its sensor's state once the claim has lapsed: a later batch of
 * that sensor, seconds later for a sensor reporting every second. deliver() models that by
 * delivering each sensor's last record again after the schedule.
 */

/**
 * Delivers every record of the scenario to the handler, as an event source mapping with
 * ReportBatchItemFailures and bisection does: a batch from the current position; on reported
 * failures, resume from the lowest failed sequence number; on a timed-out attempt, bisect; plus
 * the steps' overlaps and replays. Two containers take turns (each with its own sinks and so its
 * own memory of the windows it wrote). Faults stop after `faultyInvocations` invocations (the
 * outage ends), so the schedule always finishes.
 */
export async function deliver(
  scenario: Scenario,
  steps: Step[],
  options: { aws: FakeAws; config: ProcessorConfig; faultyInvocations: number; disableFaults: () => void; random: () => number },
): Promise<DeliveryReport> {
  const { aws, config } = options;
  const records = streamRecords(scenario);
  let now = BASE_MS + 30_000;
  aws.now = () => now;
  const clients = aws.clients();
  const containers: Sink[][] = [processorSinks(config, clients), processorSinks(config, clients)];
  let invocations = 0;
  const uncleared = new Set<string>();
  const invoke = async (batch: KinesisStreamRecord[], remainingMs: number) => {
    invocations++;
    if (invocations === options.faultyInvocations) options.disableFaults();
    const event: KinesisStreamEvent = { Records: batch };
    const outcome = await processBatch(event, { getRemainingTimeInMillis: () => remainingMs }, {
      config,
      sinks: containers[invocations % 2]!,
      now: () => now,
      sleep: async (ms) => void (now += ms),
      random: options.random,
      write: (line) => {
        if (line.includes('Outbox not cleared')) uncleared.add((JSON.parse(line) as { sensor_id: string }).sensor_id);
      },
      io: { callTimeoutMs: 5 },
    });
    now += 200; // the next invocation starts a little later
    return outcome.response.batchItemFailures.map((f) => f.itemIdentifier);
  };
  let position = 0;
  let step = 0;
  let pendingHalf: number | undefined;
  for (let guard = 0; position < records.length; guard++) {
    if (guard > 5_000) throw new Error('the delivery schedule does not end');
    const planned: Step = steps[step++ % steps.length] ?? { kind: 'next', size: 10, remainingMs: 60_000 };
    // The retry of a timed-out attempt is the bisected half, delivered normally.
    const s: Step = pendingHalf === undefined ? planned : { kind: 'next', size: pendingHalf, remainingMs: planned.remainingMs };
    const size = Math.max(1, Math.min(s.size, records.length - position));
    pendingHalf = undefined;
    if (s.kind === 'replay' && position > 0) {
      // A range delivered before comes again, whole; then delivery goes on from the position.
      const from = Math.min(s.from, position - 1);
      await invoke(records.slice(from, Math.min(from + s.size, position)), s.remainingMs);
    }
    const batch = records.slice(position, position + size);
    let failed: string[];
    if (s.kind === 'overlap') {
      [, failed] = await Promise.all([invoke(batch, s.remainingMs), invoke(batch, s.remainingMs)]);
    } else if (s.kind === 'timeout') {
      // The outcome is lost (the attempt may have done all or part of its work): bisect and retry.
      await invoke(batch, s.remainingMs);
      pendingHalf = Math.ceil(batch.length / 2);
      continue;
    } else {
      failed = await invoke(batch, s.remainingMs);
    }
    if (failed.length === 0) {
      position += batch.length;
    } else {
      const lowest = failed.map((id) => batch.findIndex((r) => r.kinesis.sequenceNumber === id)).sort((a, b) => a - b)[0]!;
      position += lowest;
    }
  }
  const elapsedMs = now - BASE_MS - 30_000;
  // Time passes and the stream goes on: each sensor's next delivery comes after every claim of a
  // dead or failed publisher has lapsed (modelled by its last record again; faults are over).
  options.disableFaults();
  now += 120_000;
  const lastOfSensor = new Map(records.map((r) => [r.kinesis.partitionKey, r]));
  for (const record of lastOfSensor.values()) await invoke([record], 60_000);
  return { invocations, elapsedMs, uncleared };
}

/** What the readings alone imply: the window items, the alerts, the quarantined records. */
export function expected(scenario: Scenario, config: ProcessorConfig) {
  const readings = scenario.records.flatMap((r) => ('reading' in r ? [r.reading] : []));
  const windows = new Map<string, ModelReading[]>();
  for (const r of readings) {
    const start = Math.floor(Date.parse(r.timestamp) / (config.rollupWindowSeconds * 1000)) * config.rollupWindowSeconds * 1000;
    const key = `${r.sensor_id} ${new Date(start).toISOString()}`;
    windows.set(key, [...(windows.get(key) ?? []), r]);
  }
  // Every transition of each sensor's readings in time order, through the state machine once.
  const alertIds: string[] = [];
  const claimant: Claimant = { id: 'model', deadlineMs: Number.MAX_SAFE_INTEGER, nowMs: BASE_MS };
  const bySensor = new Map<string, EnrichedReading[]>();
  for (const r of readings) {
    const e = enrich(exampleReading({ ...r, timestampMs: Date.parse(r.timestamp) }), config.thresholds);
    bySensor.set(r.sensor_id, [...(bySensor.get(r.sensor_id) ?? []), e]);
  }
  for (const [sensor, list] of bySensor) {
    const state: AlertState = initialState(sensor);
    alertIds.push(...decide(state, [...list].sort((a, b) => a.timestampMs - b.timestampMs), config, claimant).alerts.map((a) => a.alert_id));
  }
  const records = streamRecords(scenario);
  const quarantined = scenario.records.flatMap((r, i) =>
    'invalid' in r ? [deduplicationId({ record: { shardId: SHARD, sequenceNumber: records[i]!.kinesis.sequenceNumber, partitionKey: '', data: '', approximateArrivalMs: 0 }, reason: '' })] : [],
  );
  return { windows, alertIds, quarantined };
}
