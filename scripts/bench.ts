/**
 * npm run bench: the processor's speed targets, measured (never asserted in tests).
 *  1. Compute: a 10,000-record batch (5,000 sensors, 2% invalid) through the handler with every AWS
 *     call answered at once, against bare base64-decode + JSON.parse of the same records (the rule's
 *     record, then the sensor's payload inside it).
 *  2. I/O: the same batch with every AWS call taking 10 ms: wall time and calls of each kind.
 *  3. Cold start: the bundle's zip size and the time to import it in a fresh node process.
 *  4. Raw-data lake: PutRecordBatch calls and record sizes per batch (Firehose bills per record,
 *     rounded up to 5 KB), and the cost of packing the readings into records.
 * Writes reports/bench.json as well as printing a table.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KinesisStreamEvent } from 'aws-lambda';
import { unzipSync } from 'fflate';
import { hash } from 'node:crypto';
import { processBatch, toInputRecords } from '../handlers/processor/handler';
import { analyseBatch } from '../handlers/processor/core/batch';
import { packRecords } from '../handlers/processor/adapters/raw-data';
import { validPositions } from '../handlers/processor/sinks/raw-data';
import { RAW_COLUMNS } from '../contract';
import { processorSinks, type Clients } from '../handlers/processor/outputs';
import type { Sink } from '../handlers/processor/sinks/sink';
import { readConfig } from '../handlers/processor/config';
import { bundleProcessor } from './bundle';
import { scriptFlags } from './cli';
import { ROOT } from './lib/paths';
import { FakeAws } from './lib/fake-aws';
import { ALERT_STATE_TABLE, READINGS_TABLE, SENSOR_STATUS_TABLE } from '../contract';
import { EXAMPLE_PHYSICAL_IDS, processorEnv } from './lib/processor-env';
import { readingRecord, ruleRecordOf } from './lib/rule-record';

scriptFlags('bench', {}, 'The processor benchmarks: compute, I/O at 10 ms per call, cold start, raw-data packing; writes reports/bench.json. Takes a few minutes.');

const RECORDS = 10_000;
const SENSORS = 5_000;
const INVALID_SHARE = 0.02;
const IO_LATENCY_MS = 10;

const config = readConfig(processorEnv(EXAMPLE_PHYSICAL_IDS, { metricsNamespace: 'TapStack/bench' }));

/** A deterministic pseudo-random source, so every run measures the same batch. */
function lcg(seed: number) {
  let state = seed;
  return () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

/**
 * Sensors of one shard: Kinesis routes by MD5 of the partition key, so one batch holds sensors of
 * a contiguous MD5 range. Here: 4 of 256 first-byte buckets, as a shard of a 64-shard stream.
 */
function shardSensors(): string[] {
  const sensors: string[] = [];
  for (let i = 0; sensors.length < SENSORS; i++) {
    const id = `sensor-${i}`;
    const bucket = parseInt(hash('md5', id).slice(0, 2), 16);
    if (bucket >= 0x40 && bucket < 0x44) sensors.push(id);
  }
  return sensors;
}

interface Shape {
  sensors: number;
  readingsPerSensor: number;
}
/** The benchmark's batch: 10,000 records of 5,000 sensors (2 readings each): the most windows per record. */
const BENCH_SHAPE: Shape = { sensors: SENSORS, readingsPerSensor: RECORDS / SENSORS };
/**
 * A batch as the defaults make it at 50,000 sensors: a 5 s window of one of 120 lanes (60 shards
 * × parallelization 2) holds 417 sensors' 5 readings each.
 */
const PRODUCTION_SHAPE: Shape = { sensors: 417, readingsPerSensor: 5 };

const START_MS = Date.now() - 3_600_000;
const SHARD_SENSORS = shardSensors();
/** Each sensor's place: 5% of them congested (above the 80 warning threshold), the rest below 70. */
const BASE_CONGESTION = (() => {
  const random = lcg(42);
  return SHARD_SENSORS.map(() => (random() < 0.05 ? 84 + random() * 14 : random() * 67));
})();

/**
 * The `batch`-th batch of the shard: 2 readings of each of its 5,000 sensors, 1 s apart, each
 * batch 2 s after the one before (a running stream: every batch brings new readings).
 */
function makeEvent(batch = 0, shape: Shape = BENCH_SHAPE): KinesisStreamEvent {
  const random = lcg(43 + batch);
  const sensors = SHARD_SENSORS;
  const baseCongestion = BASE_CONGESTION;
  const records = shape.sensors * shape.readingsPerSensor;
  const Records = Array.from({ length: records }, (_, i) => {
    const sensor = sensors[i % shape.sensors]!;
    const at = START_MS + batch * shape.readingsPerSensor * 1_000 + Math.floor(i / shape.sensors) * 1_000;
    let made: { data: Buffer; partitionKey: string };
    if (random() < INVALID_SHARE) {
      made =
        random() < 0.5
          ? ruleRecordOf({ sent: '{"sensor_id":"broken', thing: sensor, receivedAt: at + 120, registryZones: ['z1'] })
          : readingRecord({ sensor_id: sensor, zone_id: 'z1', timestamp: new Date(at).toISOString(), vehicle_count: -4, avg_speed: 30, congestion_index: 50, received_at: at + 120 });
    } else {
      // Congestion is a property of the place: each sensor keeps its level, with some noise.
      const congestion = Math.min(100, Math.max(0, baseCongestion[i % shape.sensors]! + (random() - 0.5) * 6));
      made = readingRecord({
        sensor_id: sensor,
        zone_id: `zone-${i % 200}`,
        timestamp: new Date(at).toISOString(),
        vehicle_count: Math.floor(random() * 40),
        avg_speed: Math.round(random() * 900) / 10,
        congestion_index: Math.round(congestion * 10) / 10,
        temperature: 12.5,
        weather_condition: 'clear',
        received_at: at + 120,
        thing_name: sensor,
      });
    }
    const sequenceNumber = String(49_600_000_000_000_000_000_000_000_000_000_000_000_000n + BigInt(batch * records + i));
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: made.partitionKey,
        sequenceNumber,
        data: made.data.toString('base64'),
        approximateArrivalTimestamp: at / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000007:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/processor',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/tapstack-bench-readings',
    };
  });
  return { Records };
}

/**
 * A Lambda container: AWS answered in memory (scripts/lib/fake-aws.ts) after `latencyMs` (0: on
 * the next microtask), and the processor's sinks built once, as index.ts builds them per container
 * (so the readings sink remembers the windows it wrote). The alert-state table is kept: after a
 * first batch the benchmark sees the steady state of a running stream (congested sensors already
 * known, few transitions). Window items are taken and dropped (`store: false`): the container's
 * own memory answers for them, and the fake's work stays out of the measurement.
 */
function container(latencyMs: number, lake?: (aws: FakeAws) => void): Sink[] {
  const aws = new FakeAws({
    latencyMs,
    copy: false,
    tables: {
      [config.tableName]: { hash: READINGS_TABLE.partitionKey, range: READINGS_TABLE.sortKey, store: false },
      [config.alertStateTableName]: {
        hash: ALERT_STATE_TABLE.partitionKey,
        indexes: { [ALERT_STATE_TABLE.elevatedIndexName]: { hash: ALERT_STATE_TABLE.elevatedBucketAttribute, range: ALERT_STATE_TABLE.partitionKey } },
      },
      [config.sensorStatusTableName]: { hash: SENSOR_STATUS_TABLE.partitionKey },
    },
  });
  lake?.(aws);
  const client = aws.client();
  return processorSinks(config, { dynamodb: client, eventbridge: client, sqs: client, firehose: client } as unknown as Clients);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const context = { getRemainingTimeInMillis: () => 60_000 };
const quiet = { write: () => undefined };

function baseline(event: KinesisStreamEvent): number {
  const started = process.hrtime.bigint();
  for (const r of event.Records) {
    try {
      // The least any processor does to read a reading: the rule's record (base64, JSON), then the
      // sensor's payload inside it (base64, JSON) (contract/reading.ts RULE_RECORD).
      const record = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as { payload: string };
      JSON.parse(Buffer.from(record.payload, 'base64').toString('utf8'));
    } catch {
      // the invalid share is in the baseline too
    }
  }
  return Number(process.hrtime.bigint() - started);
}

async function timed(sinks: Sink[], event: KinesisStreamEvent) {
  const started = process.hrtime.bigint();
  const outcome = await processBatch(event, context, { config, sinks, ...quiet });
  return { ns: Number(process.hrtime.bigint() - started), outcome };
}

/**
 * Successive batches through one warm container (steady state), and each batch also through a
 * fresh container (first batch: nothing known, every window read, every congested sensor alerts),
 * interleaved with the baseline on the same batch.
 */
async function computeBench(shape: Shape = BENCH_SHAPE) {
  const steady = container(0);
  for (let i = 0; i < 5; i++) await timed(steady, makeEvent(i, shape));
  const baseNs: number[] = [];
  const steadyNs: number[] = [];
  const firstNs: number[] = [];
  let steadyAlerts = 0;
  let firstAlerts = 0;
  for (let i = 5; i < 45; i++) {
    const event = makeEvent(i, shape);
    baseNs.push(baseline(event));
    const s = await timed(steady, event);
    steadyNs.push(s.ns);
    steadyAlerts = s.outcome.alertsPublished;
    const f = await timed(container(0), event);
    firstNs.push(f.ns);
    firstAlerts = f.outcome.alertsPublished;
  }
  // The fastest of many interleaved runs: on a shared machine, noise only ever adds time.
  const perRecord = (ns: number) => Math.round(ns / (shape.sensors * shape.readingsPerSensor));
  const base = Math.min(...baseNs);
  const steadyMin = Math.min(...steadyNs);
  const firstMin = Math.min(...firstNs);
  return {
    baselineNsPerRecord: perRecord(base),
    steadyState: { nsPerRecord: perRecord(steadyMin), ratio: Math.round((steadyMin / base) * 100) / 100, alerts: steadyAlerts },
    firstBatch: { nsPerRecord: perRecord(firstMin), ratio: Math.round((firstMin / base) * 100) / 100, alerts: firstAlerts },
  };
}

/** Every call takes 10 ms. First batch: a fresh container; steady state: its next batch. */
async function ioBench() {
  const first: number[] = [];
  const steady: number[] = [];
  let firstRun;
  let steadyRun;
  for (let i = 0; i < 5; i++) {
    const sinks = container(IO_LATENCY_MS);
    firstRun = await timed(sinks, makeEvent(2 * i));
    first.push(firstRun.ns / 1e6);
    steadyRun = await timed(sinks, makeEvent(2 * i + 1));
    steady.push(steadyRun.ns / 1e6);
  }
  const o = firstRun!.outcome;
  return {
    firstBatch: { wallMs: Math.round(median(first)), calls: o.calls, alerts: o.alertsPublished },
    steadyState: { wallMs: Math.round(median(steady)), calls: steadyRun!.outcome.calls, alerts: steadyRun!.outcome.alertsPublished },
    minimumCalls: {
      // One conditional write per window (DynamoDB has no batched conditional write at one write unit).
      PutItem: steadyRun!.outcome.itemsWritten,
      SendMessageBatch: Math.ceil(o.quarantined / 10),
      PutEvents: Math.ceil(o.alertsPublished / 10),
    },
    validRecords: RECORDS - o.quarantined,
    items: steadyRun!.outcome.itemsWritten,
    quarantined: o.quarantined,
  };
}

/**
 * The raw-data lake per batch, through a warm container: PutRecordBatch calls, Firehose records and
 * their sizes, and 5 KB billing units (Firehose bills ingestion and conversion per record rounded up
 * to 5 KB; priced by npm run plan). Packing: the sink's own work per valid reading (base64 straight
 * into the record), against serialising each parsed reading's columns again (the alternative).
 */
async function lakeBench(shape: Shape) {
  let aws!: FakeAws;
  const sinks = container(0, (a) => (aws = a));
  for (let i = 0; i < 3; i++) await timed(sinks, makeEvent(i, shape));
  const before = aws.firehose.get(config.deliveryStreamName)?.length ?? 0;
  const { outcome } = await timed(sinks, makeEvent(3, shape));
  const records = aws.firehose.get(config.deliveryStreamName)!.slice(before);
  const sizes = records.map((r) => r.length);
  const valid = outcome.recordsIn - outcome.quarantined;

  const event = makeEvent(4, shape);
  const batch = analyseBatch(toInputRecords(event), { config, nowMs: Date.now() });
  const positions = validPositions(batch);
  const readings = batch.rollups.flatMap((r) => r.readings).sort((a, b) => a.recordIndex - b.recordIndex);
  const columns = RAW_COLUMNS.map((c) => c.jsonKey ?? c.Name);
  const reserialise = () => {
    const lines = readings.map((r) => JSON.stringify(r, columns));
    return Buffer.from(`${lines.join('\n')}\n`);
  };
  const time = (fn: () => unknown) => {
    const ns: number[] = [];
    for (let i = 0; i < 40; i++) {
      const started = process.hrtime.bigint();
      fn();
      ns.push(Number(process.hrtime.bigint() - started));
    }
    return Math.round(Math.min(...ns) / positions.length);
  };
  return {
    validReadings: valid,
    putRecordBatchCalls: outcome.calls.PutRecordBatch ?? 0,
    records: sizes.length,
    recordBytes: sizes,
    bytesPerReading: Math.round(sizes.reduce((a, b) => a + b, 0) / valid),
    billedUnits5KiB: sizes.reduce((n, b) => n + Math.ceil(b / 5_120), 0),
    packNsPerReading: time(() => packRecords(batch.records, positions)),
    reserialiseNsPerReading: time(reserialise),
  };
}

function coldStartBench(zipPath: string, bytes: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tapstack-cold-'));
  const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const env = {
    ...process.env,
    ...processorEnv(),
    AWS_REGION: 'us-east-1',
  };
  const script = `const t=performance.now();await import(${JSON.stringify(join(dir, 'index.mjs'))});console.log(performance.now()-t)`;
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`importing the bundle failed: ${run.stderr}`);
    times.push(Number(run.stdout.trim()));
  }
  return { zipKiB: Math.round((bytes / 1024) * 10) / 10, importMs: Math.round(median(times) * 10) / 10, node: process.version };
}

const compute = await computeBench();
const production = await computeBench(PRODUCTION_SHAPE);
const io = await ioBench();
const lake = { bench: await lakeBench(BENCH_SHAPE), production: await lakeBench(PRODUCTION_SHAPE) };
const bundle = await bundleProcessor();
const cold = coldStartBench(bundle.zipPath, bundle.bytes);
const report = { recordedAt: new Date().toISOString(), records: RECORDS, sensors: SENSORS, invalidShare: INVALID_SHARE, compute, production, io, lake, coldStart: { bundle: bundle.key, ...cold } };
mkdirSync(join(ROOT, 'reports'), { recursive: true });
writeFileSync(join(ROOT, 'reports', 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);

console.log(`Processor benchmark (${RECORDS} records, ${SENSORS} sensors, ${INVALID_SHARE * 100}% invalid), ${process.version}`);
console.log(`1. compute (AWS answering at once), bare base64+JSON.parse (record and payload) = ${compute.baselineNsPerRecord} ns/record:`);
console.log(`   steady state: ${compute.steadyState.nsPerRecord} ns/record, ratio ${compute.steadyState.ratio} (target <= 2.0), ${compute.steadyState.alerts} alerts`);
console.log(`   first batch (empty alert state): ${compute.firstBatch.nsPerRecord} ns/record, ratio ${compute.firstBatch.ratio}, ${compute.firstBatch.alerts} alerts`);
console.log(`   production shape (417 sensors x 5 readings, one lane of 120 at 50,000 sensors): steady state ${production.steadyState.nsPerRecord} ns/record, ratio ${production.steadyState.ratio}`);
console.log(`2. I/O at ${IO_LATENCY_MS} ms per call (target <= 500 ms): first batch ${io.firstBatch.wallMs} ms, steady state ${io.steadyState.wallMs} ms`);
console.log(`   calls, first batch: ${JSON.stringify(io.firstBatch.calls)}`);
console.log(`   calls, steady state: ${JSON.stringify(io.steadyState.calls)}`);
console.log(`   minimum the limits allow: ${JSON.stringify(io.minimumCalls)} (${io.items} items for ${io.validRecords} valid records, ${io.quarantined} quarantined, ${io.firstBatch.alerts} alerts)`);
console.log(`3. cold start: ${cold.zipKiB} KiB zip (${bundle.key}), import ${cold.importMs} ms (median of 7 fresh processes)`);
for (const [label, l] of [['bench batch (10,000 records)', lake.bench], ['production shape (417 sensors x 5 readings)', lake.production]] as const) {
  console.log(
    `4. raw-data lake, ${label}: ${l.putRecordBatchCalls} PutRecordBatch, ${l.records} record(s) of ${l.recordBytes.join(', ')} bytes ` +
      `for ${l.validReadings} readings (${l.bytesPerReading} bytes each), ${l.billedUnits5KiB} units of 5 KiB; ` +
      `packing ${l.packNsPerReading} ns/reading (re-serialising the columns instead: ${l.reserialiseNsPerReading} ns/reading)`,
  );
}
console.log('Written to reports/bench.json');
