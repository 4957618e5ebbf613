/**
 * How fast moto answers the processor's DynamoDB calls: a benchmark of the simulator's launcher
 * (`moto_server_fast.py`) against plain `moto_server`, with the processor's own requests.
 *
 *   npx tsx scripts/simulate/bench-moto.ts [--launcher fast|plain] [--seconds S] [--concurrency C] [--sensors N] [--json FILE]
 *
 * Tables as the template makes them (the readings table with its KEYS_ONLY zone-shard index, the
 * alert state table with its KEYS_ONLY elevated index). Then, each for `--seconds`:
 * - TransactWriteItems: the readings sink's conditional window writes (adapters/window-store.ts), 100 per
 *   call as the sink sends them, over max(N, 100 × C) sensors so that each call in flight has 100 of
 *   its own: each of 100 sensors' 60 s window grows by one reading (up to 60,
 *   then the next window), a Put of the window item conditioned on `attribute_not_exists(#pk)` for
 *   the first and on `#count = :known` after, ReturnValuesOnConditionCheckFailure ALL_OLD;
 * - BatchGetItem: 100 window keys, ConsistentRead, as the sink and the simulator's books read them;
 * - Query: the alert store's elevated-index query (`#b = :b` on a KEYS_ONLY index);
 * - UpdateItem: the console status sink's write (adapters/sensor-status.ts), as at 1,000 sensors
 *   (8 status items of 125 sensors, a lane's batch setting half of an item's sensors at a time);
 * - Transact(alert): the alert store's state writes (adapters/alert-store.ts stateWrite), 100
 *   Updates to a TransactWriteItems, each conditioned on the version it read (attribute_not_exists
 *   for a sensor's first), with a pending alert (the commit) or none (the clear), on the alert
 *   state table's two indexes as the template makes them.
 * C requests in flight from one SDK client (the processor's way). Prints requests/s, p50/p99 and
 * moto's CPU seconds per request (from /proc/<pid>/stat: the figure least moved by other load).
 * Every answer is checked (a put's condition never fails here; a stale put must fail with the old
 * item; a BatchGetItem returns every key), so a faster moto that answers differently fails the run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleReading } from '../../contract';
import {
  BatchGetItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type CancellationReason,
} from '@aws-sdk/client-dynamodb';
import { congestionLevel, trafficFlowScore } from '../../handlers/processor/core/enrich';
import type { EnrichedReading } from '../../handlers/processor/core/types';
import { addWindow, readingCount, windowOf, type WindowAggregate } from '../../handlers/processor/core/window';
import { windowWrite } from '../../handlers/processor/adapters/window-store';
import { stateWrite } from '../../handlers/processor/adapters/alert-store';
import { initialState, type AlertState } from '../../handlers/processor/core/alerts';
import { statusUpdate } from '../../handlers/processor/adapters/sensor-status';
import { encodeSensorStatus } from '../../contract';
import { motoClientConfig, startMoto } from '../lib/moto';

const FLAGS: Record<string, string> = { launcher: 'fast', seconds: '15', concurrency: '32', sensors: '100', json: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const name = argv[i]!.replace(/^--/, '');
  if (!(name in FLAGS) || argv[i + 1] === undefined) throw new Error(`bench-moto takes ${Object.keys(FLAGS).map((f) => `--${f}`).join(', ')}, got '${argv[i]}'`);
  FLAGS[name] = argv[i + 1]!;
}
if (!['fast', 'plain'].includes(FLAGS.launcher!)) throw new Error(`--launcher takes fast or plain, got '${FLAGS.launcher}'`);
const intFlag = (name: string, min: number, max: number) => {
  const v = Number(FLAGS[name]);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${name} takes an integer ${min}-${max}, got '${FLAGS[name]}'`);
  return v;
};
const SECONDS = intFlag('seconds', 1, 600);
const CONCURRENCY = intFlag('concurrency', 1, 512);
const SENSORS = intFlag('sensors', 1, 100_000);
// The window writes' sensors: enough for every call in flight to write 100 windows of its own
// (with fewer, the callers that found every sensor taken counted as requests without sending one).
const WINDOW_SENSORS = Math.max(SENSORS, 100 * CONCURRENCY);

const READINGS = 'bench-readings';
const STATUS = 'bench-sensor-status';
const ALERTS = 'bench-alert-state';
const ALERT_WRITES = 'bench-alert-writes';
const OPTIONS = { zoneIndexShards: 10, readingTtlDays: 7, rollupWindowSeconds: 60 };
const THRESHOLDS = { warning: 80, critical: 90, hysteresis: 5 };
const WINDOW_START = Date.parse('2026-12-01T12:00:00Z');

const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
};

const reading = (sensorId: string, second: number): EnrichedReading => {
  const congestion = 20 + ((second * 7) % 75);
  const speed = 15 + ((second * 3) % 50);
  return exampleReading({
    sensor_id: sensorId,
    zone_id: `zone-${sensorId.slice(-2)}`,
    timestamp: new Date(WINDOW_START + second * 1000).toISOString(),
    timestampMs: WINDOW_START + second * 1000,
    vehicle_count: 5 + (second % 30),
    avg_speed: speed,
    congestion_index: congestion,
    received_at: WINDOW_START + second * 1000 + 120,
    traffic_flow_score: trafficFlowScore(speed, congestion),
    congestion_level: congestionLevel(congestion, THRESHOLDS),
    replayed: false,
    recordIndex: -1,
  });
};

interface Phase {
  name: string;
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  motoCpuMsPerRequest: number;
}

async function phase(name: string, pid: number, one: () => Promise<void>): Promise<Phase> {
  const latencies: number[] = [];
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        await one();
        latencies.push(performance.now() - started);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
  const result = {
    name,
    requests: latencies.length,
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round((latencies.length / seconds) * 10) / 10,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    motoCpuMsPerRequest: Math.round((cpu / latencies.length) * 1000 * 100) / 100,
  };
  console.log(
    `${name.padEnd(13)} ${String(result.requests).padStart(6)} requests in ${result.seconds} s: ${result.perSecond}/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, moto ${result.motoCpuMsPerRequest} ms CPU per request`,
  );
  return result;
}

/** A PAY_PER_REQUEST table of string keys with one KEYS_ONLY index, as the template makes the readings and alert state tables. */
function tableWithKeysOnlyIndex(TableName: string, key: string[], IndexName: string, indexKey: string[]): CreateTableCommand {
  const schema = ([hash, range]: string[]) => [
    { AttributeName: hash, KeyType: 'HASH' as const },
    ...(range === undefined ? [] : [{ AttributeName: range, KeyType: 'RANGE' as const }]),
  ];
  return new CreateTableCommand({
    TableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...new Set([...key, ...indexKey])].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
    KeySchema: schema(key),
    GlobalSecondaryIndexes: [{ IndexName, KeySchema: schema(indexKey), Projection: { ProjectionType: 'KEYS_ONLY' } }],
  });
}

async function main() {
  const launcher =
    FLAGS.launcher === 'fast' ? { command: 'python3', args: [join(import.meta.dirname, 'moto_server_fast.py')] } : { command: 'moto_server', args: [] };
  const moto = await startMoto(30_000, launcher);
  const client = new DynamoDBClient({ ...motoClientConfig(moto.endpoint), maxAttempts: 1 });
  try {
    await client.send(tableWithKeysOnlyIndex(READINGS, ['sensor_id', 'timestamp'], 'zone-shard-index', ['zone_shard', 'timestamp']));
    await client.send(tableWithKeysOnlyIndex(ALERTS, ['sensor_id'], 'elevated-index', ['elevated_bucket', 'sensor_id']));
    for (let i = 0; i < SENSORS; i++) {
      if (i % 4 === 0) {
        await client.send(
          new PutItemCommand({
            TableName: ALERTS,
            Item: { sensor_id: { S: `sensor-${String(i).padStart(5, '0')}` }, elevated_bucket: { S: `b${i % 8}` }, level: { S: 'WARNING' } },
          }),
        );
      }
    }

    // TransactWriteItems: 100 sensors' windows per call, each grown by one reading, as the sink
    // writes them, up to the 60 readings of a 60 s window at 1 Hz; then the sensor's next window starts.
    const windows = new Map<string, WindowAggregate | undefined>();
    const windowIndex = new Map<string, number>();
    const busy = new Set<string>();
    let next = 0;
    const grow = (sensorId: string) => {
      let known = windows.get(sensorId);
      if (known && readingCount(known) >= 60) {
        windowIndex.set(sensorId, (windowIndex.get(sensorId) ?? 0) + 1);
        known = undefined;
      }
      const window = windowIndex.get(sensorId) ?? 0;
      const second = window * 60 + (known ? readingCount(known) : 0);
      const fresh = windowOf(sensorId, WINDOW_START + window * 60_000, [reading(sensorId, second)]);
      return { known, fresh, write: windowWrite(READINGS, known, fresh, OPTIONS).write };
    };
    const transact = async () => {
      const sensors: string[] = [];
      for (let tries = 0; sensors.length < 100 && tries < WINDOW_SENSORS; tries++) {
        const sensorId = `sensor-${String(next++ % WINDOW_SENSORS).padStart(5, '0')}`;
        if (busy.has(sensorId) || sensors.includes(sensorId)) continue;
        sensors.push(sensorId);
      }
      if (sensors.length === 0) return;
      for (const id of sensors) busy.add(id);
      const writes = sensors.map(grow);
      await client.send(new TransactWriteItemsCommand({ TransactItems: writes.map((w) => w.write) }));
      sensors.forEach((id, i) => windows.set(id, writes[i]!.known ? addWindow(writes[i]!.known!, writes[i]!.fresh) : writes[i]!.fresh));
      for (const id of sensors) busy.delete(id);
    };
    const phases: Phase[] = [];
    phases.push(await phase('Transact(100)', moto.pid, transact));

    // A stale write must be cancelled with the stored item as its reason (what the sink merges again from).
    const stale = [...windows.entries()].find(([, a]) => a && readingCount(a) > 1)!;
    const known = stale[1]!;
    const older = windowOf(known.sensorId, known.windowStartMs, [reading(known.sensorId, Math.floor(known.windowStartMs - WINDOW_START) / 1000 + 59)]);
    try {
      await client.send(
        new TransactWriteItemsCommand({ TransactItems: [windowWrite(READINGS, { ...known, offsets: known.offsets.slice(0, -1) }, older, OPTIONS).write] }),
      );
      throw new Error('a stale conditional write succeeded');
    } catch (error) {
      const reasons = (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons;
      if (reasons?.[0]?.Code !== 'ConditionalCheckFailed' || reasons[0].Item?.reading_count?.N !== String(readingCount(known))) throw error;
    }

    const keys = [...windows.values()].map((a) => ({ sensor_id: { S: a!.sensorId }, timestamp: { S: new Date(a!.windowStartMs).toISOString() } }));
    let k = 0;
    phases.push(
      await phase('BatchGetItem', moto.pid, async () => {
        const part = Array.from({ length: Math.min(100, keys.length) }, () => keys[k++ % keys.length]!);
        const unique = [...new Map(part.map((key) => [key.sensor_id.S, key])).values()];
        const out = await client.send(new BatchGetItemCommand({ RequestItems: { [READINGS]: { Keys: unique, ConsistentRead: true } } }));
        if ((out.Responses?.[READINGS]?.length ?? 0) + (out.UnprocessedKeys?.[READINGS]?.Keys?.length ?? 0) !== unique.length) {
          throw new Error('BatchGetItem did not answer every key');
        }
      }),
    );
    let b = 0;
    phases.push(
      await phase('Query', moto.pid, async () => {
        const bucket = `b${b++ % 8}`;
        const out = await client.send(
          new QueryCommand({
            TableName: ALERTS,
            IndexName: 'elevated-index',
            KeyConditionExpression: '#b = :b',
            ExpressionAttributeNames: { '#b': 'elevated_bucket' },
            ExpressionAttributeValues: { ':b': { S: bucket } },
          }),
        );
        const expected = Array.from({ length: SENSORS }, (_, i) => i).filter((i) => i % 4 === 0 && `b${i % 8}` === bucket).length;
        if (out.Items?.length !== expected) throw new Error(`Query of ${bucket} returned ${out.Items?.length} items, expected ${expected}`);
      }),
    );
    await client.send(
      new CreateTableCommand({ TableName: STATUS, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'bucket', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'bucket', KeyType: 'HASH' }] }),
    );
    let u = 0;
    phases.push(
      await phase('UpdateItem', moto.pid, async () => {
        const n = u++;
        const item = n % 8;
        const half = (n >> 3) % 2;
        const sensors: [string, string][] = Array.from({ length: 62 }, (_, i) => {
          const id = `sensor-${item}-${String(half * 62 + i).padStart(4, '0')}`;
          const r = reading(id, n);
          return [id, encodeSensorStatus({ zoneId: r.zone_id, congestionIndex: r.congestion_index, vehicleCount: r.vehicle_count, avgSpeedKmh: r.avg_speed, receivedAtMs: r.received_at, readingAtMs: r.timestampMs })];
        });
        await client.send(new UpdateItemCommand(statusUpdate(STATUS, { bucket: `b8-${item}`, sensors }, Date.now())));
      }),
    );

    // The alert state table as the template makes it: the elevated index and the console's zone index.
    await client.send(
      new CreateTableCommand({
        TableName: ALERT_WRITES,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ['sensor_id', 'elevated_bucket', 'zone_id', 'updated_at'].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
        KeySchema: [{ AttributeName: 'sensor_id', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          { IndexName: 'elevated-index', KeySchema: [{ AttributeName: 'elevated_bucket', KeyType: 'HASH' }, { AttributeName: 'sensor_id', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
          { IndexName: 'zone-updated-index', KeySchema: [{ AttributeName: 'zone_id', KeyType: 'HASH' }, { AttributeName: 'updated_at', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
        ],
      }),
    );
    // Each call takes 100 sensors of its own and writes each one's next state over the one it knows:
    // a transition with its alert pending (odd versions), then the clear of that alert (even ones).
    const states = new Map<string, AlertState>();
    const alertBusy = new Set<string>();
    let nextAlert = 0;
    phases.push(
      await phase('Transact(alert)', moto.pid, async () => {
        const sensors: string[] = [];
        for (let tries = 0; sensors.length < 100 && tries < WINDOW_SENSORS; tries++) {
          const sensorId = `sensor-${String(nextAlert++ % WINDOW_SENSORS).padStart(5, '0')}`;
          if (!alertBusy.has(sensorId) && !sensors.includes(sensorId)) sensors.push(sensorId);
        }
        for (const id of sensors) alertBusy.add(id);
        const at = Date.now();
        const changes = sensors.map((id) => {
          const previous = states.get(id) ?? initialState(id);
          const raising = previous.version % 2 === 0;
          const level = raising ? (previous.level === 'CRITICAL' ? 'WARNING' : 'CRITICAL') : previous.level;
          const pending = raising
            ? [{ alert: { alert_id: `${id}-${previous.version}`, level, previous_level: previous.level, sensor_id: id, zone_id: `zone-${id.slice(-2)}`, congestion_index: 91.5, threshold: 90, reading_time: new Date(at).toISOString(), received_at: at, detected_at: new Date(at).toISOString() }, owner: 'bench', until: at + 60_000 }]
            : [];
          const next: AlertState = { ...previous, level, version: previous.version + 1, pending, lastAlertAt: raising ? { ...previous.lastAlertAt, [level]: at } : previous.lastAlertAt, lastReadingMs: at };
          return { previous, next };
        });
        await client.send(
          new TransactWriteItemsCommand({ TransactItems: changes.map(({ previous, next }) => stateWrite(ALERT_WRITES, previous, next, `zone-${next.sensorId.slice(-2)}`, new Date(at).toISOString())) }),
        );
        for (const { next } of changes) states.set(next.sensorId, next);
        for (const id of sensors) alertBusy.delete(id);
      }),
    );
    // A write over a version no longer stored must be cancelled with the stored state as its reason.
    const [someone, stored] = [...states.entries()].find(([, st]) => st.version > 1)!;
    try {
      await client.send(new TransactWriteItemsCommand({ TransactItems: [stateWrite(ALERT_WRITES, { ...stored, version: stored.version - 1 }, { ...stored, version: stored.version }, 'zone-00', new Date().toISOString())] }));
      throw new Error('a stale alert state write succeeded');
    } catch (error) {
      const reasons = (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons;
      if (reasons?.[0]?.Code !== 'ConditionalCheckFailed' || reasons[0].Item?.version?.N !== String(stored.version) || reasons[0].Item?.sensor_id?.S !== someone) throw error;
    }
    const summary = { launcher: FLAGS.launcher, seconds: SECONDS, concurrency: CONCURRENCY, sensors: SENSORS, phases };
    if (FLAGS.json) writeFileSync(FLAGS.json, JSON.stringify(summary, null, 2));
  } finally {
    client.destroy();
    await moto.stop();
  }
}

await main();
