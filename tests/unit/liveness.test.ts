/**
 * Liveness: with any Lambda timeout from the template's down to 10 s (and the 4 s of the issue that
 * asked for this), and AWS throttling 30% of calls that take half a second each (a slow or busy
 * service, as moto is under load), every batch completes within a few deliveries and every
 * transition is published. Time is the test's own (fake timers): the invocation's deadline, the
 * calls' latency and timeouts and the backoffs all run on one clock, so the figures do not depend
 * on the machine's load.
 *
 * Before time budgets came from the time left, a 4 s invocation never published (publishing waited
 * for 3 s, a whole call timeout, before a deadline 2 s short of the Lambda's), and a 10 s one whose
 * commits took a call each could not fit them, the publication and the clear: its alerts stayed
 * claimed, released, and claimed again, and its batch never completed.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../contract';
import { readConfig } from '../../handlers/processor/config';
import { processBatch } from '../../handlers/processor/handler';
import { processorSinks } from '../../handlers/processor/outputs';
import { processorEnv } from '../../scripts/lib/processor-env';
import { DEFAULTS } from '../../template/config';
import { BASE_MS, expected, modelAws, NO_FAULTS, prng, streamRecords, type Faults, type ModelRecord, type Scenario } from '../helpers/delivery';

const config = readConfig(processorEnv(undefined, { overrides: { [ENV.alertCooldownSeconds]: '0' } }));

const SENSORS = 600;
/** Sensors that swing between CRITICAL and free flow from one batch to the next. */
const SWINGING = 300;
const BATCHES = 4;
/** Deliveries of a batch before the event source mapping gives up on it (its records go to the DLQ): the template's. */
const DELIVERIES = 1 + DEFAULTS.processorMaximumRetryAttempts;

/** 600 sensors, 2 readings per batch, 4 batches; 300 of them change level in every batch: 300 alerts a batch. */
function scenario(): Scenario {
  const records: ModelRecord[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    for (let k = 0; k < 2; k++) {
      for (let s = 0; s < SENSORS; s++) {
        const at = BASE_MS + (batch * 2 + k) * 1_000 + s;
        const sensor = `sensor-${s}`;
        records.push({
          reading: {
            sensor_id: sensor,
            zone_id: `zone-${s % 7}`,
            timestamp: new Date(at).toISOString(),
            vehicle_count: (s + batch) % 30,
            avg_speed: 30.5,
            congestion_index: s < SWINGING ? (batch % 2 === 0 ? 95 : 30) : 20,
            received_at: at + 40,
            thing_name: sensor,
          },
        });
      }
    }
  }
  return { records };
}

/** Runs a promise to its end on the fake clock, timer after timer. */
async function settle<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  void promise.finally(() => (done = true)).catch(() => undefined);
  while (!done) await vi.advanceTimersToNextTimerAsync();
  return promise;
}

interface Delivery {
  invocationsPerBatch: number[];
  published: { alert_id: string; sensor_id: string }[];
  uncleared: Set<string>;
  /** Time the slowest invocation took, against its timeout. */
  slowestMs: number;
  /** Reading (sensor and time) → times it was put to the raw-data lake. */
  lake: Map<string, number>;
}

/**
 * Delivers the scenario batch by batch as the event source mapping does (a batch retried from its
 * lowest failed record until it is through, at most `maxInvocations` times), each invocation with
 * `timeoutMs` to run, AWS answering each call after `latencyMs` and throttling `throttle` of them.
 */
async function deliver(timeoutMs: number, latencyMs: number, throttle: number, maxInvocations: number): Promise<Delivery> {
  const random = prng(17);
  let faults: Faults = { ...NO_FAULTS, throttle };
  const aws = modelAws(config, () => faults, random, latencyMs);
  aws.now = Date.now;
  const sinks = processorSinks(config, aws.clients());
  const records = streamRecords(scenario());
  const uncleared = new Set<string>();
  const invocationsPerBatch: number[] = [];
  let slowestMs = 0;
  const invoke = async (batch: KinesisStreamRecord[]) => {
    const started = Date.now();
    const outcome = await settle(
      processBatch({ Records: batch }, { getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started) }, {
        config,
        sinks,
        random,
        write: (line) => {
          if (line.includes('Outbox not cleared')) uncleared.add((JSON.parse(line) as { sensor_id: string }).sensor_id);
        },
      }),
    );
    slowestMs = Math.max(slowestMs, Date.now() - started);
    await settle(new Promise((r) => setTimeout(r, 200)));
    return outcome.response.batchItemFailures.map((f) => f.itemIdentifier);
  };
  for (let b = 0; b < BATCHES; b++) {
    let rest = records.slice(b * 2 * SENSORS, (b + 1) * 2 * SENSORS);
    let invocations = 0;
    while (rest.length > 0 && invocations < maxInvocations) {
      invocations++;
      const failed = await invoke(rest);
      if (failed.length === 0) break;
      rest = rest.slice(Math.min(...failed.map((id) => rest.findIndex((r) => r.kinesis.sequenceNumber === id))));
    }
    invocationsPerBatch.push(invocations);
  }
  // The stream goes on after the outage: every claim has lapsed by the sensors' next readings.
  faults = NO_FAULTS;
  await settle(new Promise((r) => setTimeout(r, 120_000)));
  const lastOfSensor = new Map(records.map((r) => [r.kinesis.partitionKey, r]));
  await invoke([...lastOfSensor.values()]);
  // The raw-data lake: how many times each reading was put.
  const lake = new Map<string, number>();
  for (const record of aws.firehose.get(config.deliveryStreamName) ?? []) {
    for (const line of Buffer.from(record).toString('utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as { sensor_id: string; timestamp: string };
      const key = `${r.sensor_id} ${r.timestamp}`;
      lake.set(key, (lake.get(key) ?? 0) + 1);
    }
  }
  return { invocationsPerBatch, published: aws.events.map((e) => JSON.parse(e.Detail!) as { alert_id: string; sensor_id: string }), uncleared, slowestMs, lake };
}

describe('liveness: every batch completes and every alert is published, whatever the Lambda timeout down to 10 s', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: BASE_MS + 30_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    ["the template's 60 s, calls of 500 ms, 30% of them throttled", 60_000, 500, 0.3],
    ['10 s, calls of 500 ms, 30% of them throttled', 10_000, 500, 0.3],
    ['4 s, calls of 20 ms, no faults', 4_000, 20, 0],
  ])('with a timeout of %s', async (_label, timeoutMs, latencyMs, throttle) => {
    const want = expected(scenario(), config);
    const { invocationsPerBatch, published, uncleared, slowestMs, lake } = await deliver(timeoutMs, latencyMs, throttle, DELIVERIES);
    const copies = [...lake.values()];
    const lakeCopies = { readings: lake.size, mean: Math.round((copies.reduce((a, b) => a + b, 0) / Math.max(1, copies.length)) * 100) / 100, max: Math.max(0, ...copies) };
    // Printed for the README and the closing note.
    console.log(`liveness, ${_label}: ${JSON.stringify({ invocationsPerBatch, published: published.length, alerts: want.alertIds.length, uncleared: uncleared.size, slowestMs, lakeCopies })}`);
    // Every batch went through within the deliveries the event source mapping allows (then it gives up on its records).
    expect(invocationsPerBatch.every((n) => n < DELIVERIES), `deliveries per batch: ${invocationsPerBatch}`).toBe(true);
    // Every transition published, none that did not happen; a repeat only where the outbox could not be cleared (logged).
    expect(want.alertIds).toHaveLength(SWINGING * BATCHES);
    const ids = published.map((d) => d.alert_id);
    expect(new Set(ids)).toEqual(new Set(want.alertIds));
    for (const d of published.filter((d, i) => ids.indexOf(d.alert_id) !== i)) expect(uncleared.has(d.sensor_id), `${d.alert_id} published again`).toBe(true);
    // No invocation ran into Lambda's timeout.
    expect(slowestMs).toBeLessThan(timeoutMs);
    // Every reading in the lake; put again only when a put abandoned at a deadline took effect after it
    // (the retry cannot tell), never once per retry of its batch: one container delivered them all.
    expect(lake.size).toBe(SENSORS * 2 * BATCHES);
    expect(lakeCopies.max).toBeLessThanOrEqual(2);
  }, 120_000);
});
