/**
 * npm run bench:console -- [--sensors 50000] [--zones 200] [--controllers 50] [--seconds 60]
 *                          [--elevated-share 0.02] [--fleet 100] [--fleet-zones 10] [--freshness-seconds 120]
 *                          [--skip-api] [--skip-freshness] [--json FILE]
 *
 * 1. The console API under load: moto holds a city of --sensors sensors in --zones zones (the
 *    sensor-status items the processor writes, --elevated-share of them in alert); the built bundle's
 *    consoleApi runs in one container behind the local JWT authorizer, as `npm start` runs it;
 *    --controllers simulated controllers poll every 2 s, as the page does. Phase A polls the city only
 *    (the target: p99 ≤ 300 ms, ≤ 1 read unit per zone per refresh); phase B polls what the page
 *    polls (the city and the alerts). Read units are DynamoDB's ConsumedCapacity when the emulator
 *    returns it, else the documented rounding of the items' sizes.
 * 2. Freshness: the local pipeline (`npm start`'s: sensors over MQTT/TLS, moto, the processor
 *    bundle) with the console, one Chromium page per zone signed in with that zone's panel open;
 *    every valid reading published is timed from its publish to the first render of the page that
 *    shows its sensor's reading at or after it (the target: p99 ≤ 10 s).
 * Figures are printed and, with --json, written. The machine's load is printed with them: the
 * machine is shared, and moto (one Python process) is most of the local latency.
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BatchWriteItemCommand, DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import Fastify from 'fastify';
import { chromium } from 'playwright-core';
import { ALERT_STATE_TABLE, encodeSensorStatus, SENSOR_STATUS_TABLE } from '../../contract';
import { createConsoleApi, readConsoleConfig } from '../../handlers/processor/console-api';
import { CONSOLE_FAKE_TABLES, consoleFakeAws } from '../lib/console-fake';
import { consoleApiEnv } from '../lib/processor-env';
import { statusBucket } from '../../handlers/processor/core/status';
import { elevatedBucket } from '../../handlers/processor/core/hash';
import { LogicalId } from '../../template/names';
import { buildConsole } from '../build-console';
import { bundleProcessor } from '../bundle';
import { numberFlag, parseFlags, runMain, UsageError } from '../cli';
import { LocalIssuer } from '../lib/local-auth';
import { motoClientConfig, startMoto } from '../lib/moto';
import { deployToMoto } from '../lib/moto-stack';
import { percentile } from '../simulate/ledger';
import { consolePlugin } from '../simulate/console-server';
import { LambdaPool } from '../simulate/lambda-pool';
import { CONSOLE_DIST } from '../build-console';
import { startDashboard } from '../simulate/dashboard/index';
import { simulate, type Simulation } from '../simulate/run';

const COMMAND = 'bench:console';
/** Each API phase starts with this long of polling that is not measured. */
const WARM_UP_MS = 10_000;
const POLL_MS = 2_000;

export const BENCH_CONSOLE_FLAGS = {
  sensors: { type: 'string', help: 'sensors of the city the API reads (default 50000)' },
  zones: { type: 'string', help: 'zones of that city (default 200)' },
  controllers: { type: 'string', help: 'controllers polling every 2 s (default 50)' },
  seconds: { type: 'string', help: 'seconds of each API phase (default 60)' },
  'elevated-share': { type: 'string', help: 'share of the sensors in alert (default 0.02)' },
  fleet: { type: 'string', help: 'sensors of the local pipeline for the freshness run (default 60)' },
  'fleet-zones': { type: 'string', help: 'zones of that fleet, one Chromium page each (default 4)' },
  'freshness-seconds': { type: 'string', help: 'seconds of traffic in the freshness run (default 120)' },
  backend: { type: 'string', help: 'memory (AWS in memory, 10 ms a call; default) or moto (the wire protocol, at moto\'s speed)' },
  'skip-api': { type: 'boolean', help: 'skip the API load phases' },
  'skip-freshness': { type: 'boolean', help: 'skip the freshness run' },
  json: { type: 'string', help: 'write the figures to this file' },
} as const;

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ApiFigures {
  sensors: number;
  zones: number;
  controllers: number;
  seconds: number;
  statusItems: number;
  coldCityMs: number;
  phases: {
    name: string;
    cityRequests: number;
    otherRequests: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    readUnits: number;
    readUnitsReported: number;
    readUnitsPerZonePerCityRefresh: number;
    errors: number;
    /** p99 delay of this process's event loop (server, handler and the simulated controllers share it). */
    eventLoopP99Ms: number;
  }[];
  loadBefore: string;
  loadAfter: string;
}

/** The city's items: every sensor's latest reading in 256 status items, and the alert state of those in alert. */
function cityItems(options: { sensors: number; zones: number; elevatedShare: number }, statusItems: number, now: number) {
  const items = new Map<string, Record<string, AttributeValue>>();
  const zoneOf = (i: number) => `Z${String(i % options.zones).padStart(3, '0')}`;
  for (let i = 0; i < options.sensors; i++) {
    const sensorId = `sensor-${String(i).padStart(6, '0')}`;
    const bucket = statusBucket(sensorId, statusItems);
    const item = items.get(bucket) ?? { [SENSOR_STATUS_TABLE.partitionKey]: { S: bucket } };
    item[sensorId] = { S: encodeSensorStatus({ zoneId: zoneOf(i), congestionIndex: Math.round(Math.random() * 1000) / 10, vehicleCount: Math.round(Math.random() * 20), avgSpeedKmh: Math.round(Math.random() * 700) / 10, receivedAtMs: now - Math.round(Math.random() * 5000), readingAtMs: now - 6000 }) };
    items.set(bucket, item);
  }
  const alerts: Record<string, AttributeValue>[] = [];
  const inAlert = Math.floor(options.sensors * options.elevatedShare);
  for (let i = 0; i < inAlert; i++) {
    const index = Math.floor((i / inAlert) * options.sensors);
    const sensorId = `sensor-${String(index).padStart(6, '0')}`;
    const level = i % 3 === 0 ? 'CRITICAL' : 'WARNING';
    alerts.push({
      [ALERT_STATE_TABLE.partitionKey]: { S: sensorId },
      zone_id: { S: zoneOf(index) },
      level: { S: level },
      version: { N: '1' },
      last_alert_at: { M: { [level]: { N: String(now - 60_000) } } },
      pending: { S: '[]' },
      [ALERT_STATE_TABLE.elevatedBucketAttribute]: { S: elevatedBucket(sensorId) },
      updated_at: { S: new Date(now - 60_000).toISOString() },
    });
  }
  return { status: [...items.values()], alerts };
}

/** The API under load (see the header), against moto (the wire protocol, moto's speed) or AWS in memory (10 ms a call). */
async function apiUnderLoad(
  options: { sensors: number; zones: number; controllers: number; seconds: number; elevatedShare: number; backend: 'moto' | 'memory' },
  print: (l: string) => void,
): Promise<ApiFigures> {
  const loadBefore = load();
  const bundle = await bundleProcessor();
  await buildConsole();
  const statusItems = 256;
  const now = Date.now();
  const city = cityItems(options, statusItems, now);
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const stops: (() => Promise<void>)[] = [];
  let readUnitsTotal = 0;
  let readUnitsReported = 0;
  let apiErrors = 0;
  let invoke: (event: Parameters<ReturnType<typeof createConsoleApi>>[0]) => Promise<APIGatewayProxyStructuredResultV2>;
  try {
    if (options.backend === 'memory') {
      const aws = consoleFakeAws({ latencyMs: FAKE_CALL_MS, copy: false });
      for (const [name, list] of [[CONSOLE_FAKE_TABLES.status, city.status], [CONSOLE_FAKE_TABLES.alertState, city.alerts]] as const) {
        const table = aws.table(name);
        for (const item of list) table.items.set(table.key(item), item);
      }
      const none = { send: async () => ({}) };
      const api = createConsoleApi({
        config: readConsoleConfig(consoleApiEnv()),
        clients: { dynamodb: aws.client() as never, iot: none as never, cloudwatch: none as never },
        write: (line) => {
          if (/"level":"(ERROR|WARN)"/.test(line) && apiErrors++ < 3) print(`API: ${line.slice(0, 400)}`);
        },
      });
      invoke = async (event) => {
        const r = await api(event);
        readUnitsTotal = api.stats().readUnits;
        readUnitsReported = api.stats().reportedUnits;
        return r;
      };
      print(`API: AWS in memory (${FAKE_CALL_MS} ms a call) holds ${options.sensors.toLocaleString('en-US')} sensors in ${options.zones} zones (${city.status.length} status items), ${city.alerts.length} in alert; the handler runs in this process`);
    } else {
      const moto = await startMoto();
      stops.push(() => moto.stop());
      const deployed = await deployToMoto(moto.endpoint, 'tapstack-bench', { EnvironmentSuffix: 'bench', ThrowawayEnvironment: 'true', SensorStatusItems: String(statusItems) }, {
        bucket: 'tapstack-bench-code',
        key: bundle.key,
        body: readFileSync(bundle.zipPath),
      });
      const aws = motoClientConfig(moto.endpoint);
      const ddb = new DynamoDBClient(aws);
      const write = async (table: string, list: Record<string, AttributeValue>[]) => {
        for (let i = 0; i < list.length; i += 25) {
          await ddb.send(new BatchWriteItemCommand({ RequestItems: { [table]: list.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
        }
      };
      await write(deployed.physicalIds[LogicalId.SensorStatusTable]!, city.status);
      await write(deployed.physicalIds[LogicalId.AlertStateTable]!, city.alerts);
      const fn = await new LambdaClient(aws).send(new GetFunctionConfigurationCommand({ FunctionName: deployed.physicalIds[LogicalId.ConsoleApiFunction] }));
      const env = Object.fromEntries(Object.entries(fn.Environment?.Variables ?? {}).map(([k, v]) => [k, String(v)]));
      const pool = new LambdaPool({
        zipPath: bundle.zipPath,
        env: { ...env, AWS_ENDPOINT_URL: moto.endpoint },
        timeoutSeconds: 10,
        handlerExport: 'consoleApi',
        onLog: (_lane, line) => {
          if (/"level":"(ERROR|WARN)"/.test(line) && apiErrors++ < 3) print(`API container: ${line.slice(0, 400)}`);
          if (!line.includes('"read_units_total"')) return;
          const doc = JSON.parse(line) as { read_units_total: number; read_units_reported: number };
          readUnitsTotal = Math.max(readUnitsTotal, doc.read_units_total);
          readUnitsReported = Math.max(readUnitsReported, doc.read_units_reported);
        },
      });
      stops.unshift(() => pool.close());
      invoke = async (event) => {
        const outcome = await pool.invoke(0, event);
        return outcome.ok ? (outcome.response as unknown as APIGatewayProxyStructuredResultV2) : { statusCode: 502, body: outcome.error };
      };
      print(`API: moto holds ${options.sensors.toLocaleString('en-US')} sensors in ${options.zones} zones (${city.status.length} status items), ${city.alerts.length} in alert; the built bundle's consoleApi runs in one container`);
    }
    const issuer = await LocalIssuer.create('http://127.0.0.1/auth');
    await app.register(
      consolePlugin({
        distDir: CONSOLE_DIST,
        issuer,
        environment: 'bench',
        invoke: (event) => invoke(event),
      }),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    issuer.bindOrigin(origin);
    let firstError: string | undefined;
    const tokens = await Promise.all(Array.from({ length: options.controllers }, () => issuer.accessToken(issuer.user('local-controller'))));
    const get = async (path: string, token: string) => {
      const started = performance.now();
      const response = await fetch(`${origin}${path}`, { headers: { Authorization: `Bearer ${token}` } });
      const text = await response.text();
      if (response.status !== 200 && firstError === undefined) firstError = `${path}: ${response.status} ${text.slice(0, 300)}`;
      return { status: response.status, ms: performance.now() - started };
    };
    // The first request of a container reads everything (and starts the container).
    const cold = await get('/api/city', tokens[0]!);
    const coldCityMs = Math.round(cold.ms);

    const phase = async (name: string, paths: string[]) => {
      const delay = monitorEventLoopDelay({ resolution: 10 });
      // The first seconds (every controller's first poll, the first reads) are not counted.
      const measureFrom = Date.now() + WARM_UP_MS;
      let unitsBefore = readUnitsTotal;
      let reportedBefore = readUnitsReported;
      setTimeout(() => {
        unitsBefore = readUnitsTotal;
        reportedBefore = readUnitsReported;
        delay.enable();
      }, WARM_UP_MS);
      const city: number[] = [];
      let other = 0;
      let errors = 0;
      const end = measureFrom + options.seconds * 1000;
      await Promise.all(
        tokens.map(async (token, i) => {
          await sleep((i / tokens.length) * POLL_MS);
          while (Date.now() < end) {
            const started = Date.now();
            const answers = await Promise.all(paths.map((p) => get(p, token)));
            if (started < measureFrom) {
              await sleep(Math.max(0, POLL_MS - (Date.now() - started)));
              continue;
            }
            answers.forEach((a, j) => {
              if (a.status !== 200) errors++;
              if (paths[j] === '/api/city') city.push(a.ms);
              else other++;
            });
            await sleep(Math.max(0, POLL_MS - (Date.now() - started)));
          }
        }),
      );
      await sleep(500);
      delay.disable();
      const eventLoopP99Ms = round(delay.percentile(99) / 1e6);
      const sorted = [...city].sort((a, b) => a - b);
      const units = readUnitsTotal - unitsBefore;
      const figures = {
        name,
        cityRequests: city.length,
        otherRequests: other,
        p50Ms: percentile(sorted, 50) === null ? null : round(percentile(sorted, 50)!),
        p99Ms: percentile(sorted, 99) === null ? null : round(percentile(sorted, 99)!),
        maxMs: sorted.length ? round(sorted.at(-1)!) : null,
        readUnits: round(units),
        readUnitsReported: round(readUnitsReported - reportedBefore),
        readUnitsPerZonePerCityRefresh: round(units / Math.max(1, city.length) / options.zones, 4),
        errors,
        eventLoopP99Ms,
      };
      print(
        `API ${name}: ${figures.cityRequests} city requests (${other} others) from ${options.controllers} controllers every 2 s for ${options.seconds} s: ` +
          `p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms; ${figures.readUnits} read units ` +
          `(${figures.readUnitsReported} reported by DynamoDB), ${figures.readUnitsPerZonePerCityRefresh} per zone per city refresh; ${errors} errors; event loop p99 delay ${eventLoopP99Ms} ms${firstError ? ` (first: ${firstError})` : ''}`,
      );
      return figures;
    };
    const phases = [await phase('A (the city)', ['/api/city']), await phase('B (the page: city and alerts)', ['/api/city', '/api/alerts'])];
    return { ...options, statusItems, coldCityMs, phases, loadBefore, loadAfter: load() };
  } finally {
    await app.close().catch(() => undefined);
    for (const stop of stops) await stop();
  }
}

/** Latency of every AWS call of the in-memory backend: what `npm run bench` assumes for DynamoDB. */
const FAKE_CALL_MS = 10;

interface FreshnessFigures {
  sensors: number;
  zones: number;
  seconds: number;
  readings: number;
  visible: number;
  notSeen: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  storedP99Ms: number | null;
  batchingWindowSeconds: number;
  loadBefore: string;
  loadAfter: string;
}

/** Published → visible on the page (see the header). */
async function freshness(options: { fleet: number; zones: number; seconds: number }, print: (l: string) => void): Promise<FreshnessFigures> {
  const loadBefore = load();
  await bundleProcessor();
  await buildConsole();
  const published: { sensorId: string; timestampMs: number; publishedAt: number }[] = [];
  /** Per sensor: when a page first showed each reading time of it. */
  const shown = new Map<string, { readingAt: number; at: number }[]>();
  let started = 0;
  let sim: Simulation | undefined;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let stopDashboard: (() => Promise<void>) | undefined;
  try {
    const result = await simulate({
      sensors: options.fleet,
      zones: options.zones,
      hz: 1,
      scenario: 'rush-hour',
      environment: 'fresh',
      durationSeconds: options.seconds,
      onReady: async (s) => {
        sim = s;
        // Every valid reading the fleet publishes, with its sensor (the ledger's own record, observed).
        const published0 = s.ledger.published.bind(s.ledger);
        s.ledger.published = (row) => {
          if (!row.bad && started > 0) published.push({ sensorId: s.identities[row.sensor]!.sensorId, timestampMs: row.timestampMs, publishedAt: row.publishedAt });
          published0(row);
        };
        const dashboard = await startDashboard({ port: 0, snapshot: () => s.snapshot(), console: s.console.plugin });
        stopDashboard = () => dashboard.close();
        s.console.issuer.bindOrigin(dashboard.consoleUrl!);
        const zones = [...new Set(s.identities.map((i) => i.zoneId))].sort();
        for (const zone of zones) {
          const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
          await page.exposeBinding('__benchRender', (_source, rows: [string, number][]) => {
            const at = Date.now();
            for (const [sensorId, readingAt] of rows) {
              const list = shown.get(sensorId) ?? [];
              if (list.length === 0 || readingAt > list.at(-1)!.readingAt) list.push({ readingAt, at });
              shown.set(sensorId, list);
            }
          });
          // The measurement, outside the page's code: report every render of the zone's sensor table.
          // (A string: it runs in the page, where the project's TypeScript has no DOM types.)
          await page.addInitScript(`
            new MutationObserver(() => {
              const rows = [...document.querySelectorAll('#zone-sensors tbody tr')].map((tr) => [
                tr.dataset.sensor,
                Number(tr.querySelector('[data-reading-at]')?.dataset.readingAt ?? 0),
              ]);
              if (rows.length) window.__benchRender(rows);
            }).observe(document, { childList: true, subtree: true });
          `);
          await page.goto(dashboard.consoleUrl!);
          await page.locator('#signin-button').click();
          await page.locator('button[value="local-controller"]').click();
          await page.locator(`#zone-grid .zone[data-zone="${zone}"]`).click({ timeout: 60_000 });
        }
        started = Date.now();
        print(`Freshness: ${zones.length} pages signed in, one zone panel each; ${options.fleet} sensors at 1 Hz for ${options.seconds} s`);
      },
    });
    // Readings published after a warm-up and long enough before the end to have been shown.
    const from = started + 15_000;
    const until = started + (options.seconds - 20) * 1000;
    const latencies: number[] = [];
    let notSeen = 0;
    for (const r of published.filter((p) => p.publishedAt >= from && p.publishedAt <= until)) {
      const seen = shown.get(r.sensorId)?.find((s) => s.readingAt >= r.timestampMs);
      if (seen) latencies.push(seen.at - r.publishedAt);
      else notSeen++;
    }
    latencies.sort((a, b) => a - b);
    const figures: FreshnessFigures = {
      sensors: options.fleet,
      zones: options.zones,
      seconds: options.seconds,
      readings: latencies.length + notSeen,
      visible: latencies.length,
      notSeen,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.length ? latencies.at(-1)! : null,
      storedP99Ms: result.summary.latency.endToEnd.p99Ms,
      batchingWindowSeconds: result.summary.stack.batchingWindowSeconds,
      loadBefore,
      loadAfter: load(),
    };
    print(
      `Freshness: ${figures.visible} of ${figures.readings} readings seen on the pages (${notSeen} not seen: their sensor went silent or quarantined them); ` +
        `published → visible p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms ` +
        `(published → stored p99 ${figures.storedP99Ms} ms; batching window ${figures.batchingWindowSeconds} s)`,
    );
    void sim;
    return figures;
  } finally {
    await stopDashboard?.();
    await browser.close();
  }
}

async function main(): Promise<void> {
  const flags = parseFlags(COMMAND, process.argv.slice(2), BENCH_CONSOLE_FLAGS, 'The console API under load and the freshness of the page (see scripts/bench/console.bench.ts).');
  const n = (name: keyof typeof BENCH_CONSOLE_FLAGS, fallback: number, limits: { min?: number; max?: number; integer?: boolean }) =>
    numberFlag(COMMAND, name, flags[name] as string | undefined, fallback, limits);
  const api = {
    sensors: n('sensors', 50_000, { min: 1, max: 200_000, integer: true }),
    zones: n('zones', 200, { min: 1, max: 2_000, integer: true }),
    controllers: n('controllers', 50, { min: 1, max: 500, integer: true }),
    seconds: n('seconds', 60, { min: 5, max: 3_600 }),
    elevatedShare: n('elevated-share', 0.02, { min: 0, max: 1 }),
    backend: (flags.backend ?? 'memory') as 'memory' | 'moto',
  };
  if (!['memory', 'moto'].includes(api.backend)) throw new UsageError(`${COMMAND}: --backend takes memory or moto, got '${flags.backend}'`);
  const fresh = { fleet: n('fleet', 60, { min: 4, max: 400, integer: true }), zones: n('fleet-zones', 4, { min: 1, max: 20, integer: true }), seconds: n('freshness-seconds', 120, { min: 60, max: 3_600 }) };
  const print = (l: string) => console.log(l);
  print(`Machine load (1, 5, 15 min): ${load()}`);
  const figures: { api?: ApiFigures; freshness?: FreshnessFigures } = {};
  if (!flags['skip-api']) figures.api = await apiUnderLoad(api, print);
  if (!flags['skip-freshness']) figures.freshness = await freshness(fresh, print);
  print(`Machine load (1, 5, 15 min): ${load()}`);
  if (flags.json) {
    const path = resolve(flags.json);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify(figures, null, 2)}\n`);
    print(`Figures written to ${path}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runMain(COMMAND, main);
