/**
 * The processor with the real AWS SDK: the clients Lambda builds (handlers/processor/outputs.ts)
 * against AWS over local HTTP (scripts/bench/aws-stub.ts, in a child process, so that its own CPU
 * is not counted), for a steady stream and a transition storm (scripts/bench/batches.ts):
 * CPU per record (this process's user + system time), its ratio to the decode floor, wall time, and
 * the AWS calls by API. For the storm, a processor written the way Powertools' BatchProcessor users
 * write one (scripts/bench/powertools-peer.ts) takes the same batches against the same stub, in this
 * process, interleaved with the processor's runs. Part of `npm run bench`; runs alone too:
 *
 *   npx tsx scripts/bench/processor-sdk.bench.ts [--runs N]
 */
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { readConfig, type ProcessorConfig } from '../../handlers/processor/config';
import { processBatch } from '../../handlers/processor/handler';
import { createClients, processorSinks } from '../../handlers/processor/outputs';
import { ALERT_STATE_TABLE, READINGS_TABLE } from '../../contract';
import { decodeFloorNs, makeEvent, RECORDS } from './batches';
import { startAwsStub } from './aws-stub';
import { powertoolsPeer } from './powertools-peer';
import { EXAMPLE_PHYSICAL_IDS, processorEnv } from '../lib/processor-env';

export interface SdkFigures {
  /** CPU per record, ns (the fastest run: noise on a shared machine only adds time), and its ratio to the decode floor. */
  nsPerRecord: number;
  ratio: number;
  medianNsPerRecord: number;
  wallMs: number;
  calls: Record<string, number>;
  totalCalls: number;
  alertsPublished: number;
}

export interface SdkBench {
  decodeFloorNsPerRecord: number;
  steady: SdkFigures;
  storm: SdkFigures;
  peerStorm: SdkFigures;
  /** Peer CPU / processor CPU on the storm (fastest runs of each). */
  stormSpeedup: number;
  stormWallSpeedup: number;
  runs: number;
}

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;
const STORM_ALERT_STATE = 'alert-state-storm';

interface Run {
  cpuNs: number;
  wallMs: number;
  calls: Record<string, number>;
  alerts: number;
}

async function measure(fn: () => Promise<{ calls: Record<string, number>; alerts: number }>): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { calls, alerts } = await fn();
  const used = process.cpuUsage(cpu);
  return { cpuNs: (used.user + used.system) * 1000, wallMs: performance.now() - started, calls, alerts };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function figures(runs: Run[], floorNs: number): SdkFigures {
  const fastest = Math.min(...runs.map((r) => r.cpuNs));
  const last = runs[runs.length - 1]!;
  return {
    nsPerRecord: Math.round(fastest / RECORDS),
    ratio: Math.round((fastest / floorNs) * 100) / 100,
    medianNsPerRecord: Math.round(median(runs.map((r) => r.cpuNs)) / RECORDS),
    wallMs: Math.round(median(runs.map((r) => r.wallMs))),
    calls: last.calls,
    totalCalls: Object.values(last.calls).reduce((a, b) => a + b, 0),
    alertsPublished: last.alerts,
  };
}

export async function sdkBench(runs = 7): Promise<SdkBench> {
  const tables = {
    [EXAMPLE_PHYSICAL_IDS.ReadingsTable!]: { hash: READINGS_TABLE.partitionKey, range: READINGS_TABLE.sortKey, store: false },
    ...Object.fromEntries(
      [EXAMPLE_PHYSICAL_IDS.AlertStateTable!, STORM_ALERT_STATE].map((name) => [
        name,
        { hash: ALERT_STATE_TABLE.partitionKey, indexes: { [ALERT_STATE_TABLE.elevatedIndexName]: { hash: ALERT_STATE_TABLE.elevatedBucketAttribute, range: ALERT_STATE_TABLE.partitionKey } } },
      ]),
    ),
  };
  const stub = await startAwsStub({ tables });
  const saved = { ...process.env };
  // The SDK reads its endpoint, region and credentials from the environment, as in Lambda (AWS_ENDPOINT_URL: the stub).
  Object.assign(process.env, { AWS_ENDPOINT_URL: stub.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' });
  delete process.env.AWS_PROFILE;
  try {
    const steadyConfig = readConfig(processorEnv(EXAMPLE_PHYSICAL_IDS, { metricsNamespace: 'TapStack/bench' }));
    // The storm: every transition alerts (no cooldown), in an alert-state table of its own.
    const stormConfig: ProcessorConfig = readConfig(
      processorEnv({ ...EXAMPLE_PHYSICAL_IDS, AlertStateTable: STORM_ALERT_STATE }, { metricsNamespace: 'TapStack/bench', overrides: { ALERT_COOLDOWN_SECONDS: '0' } }),
    );
    const container = (config: ProcessorConfig) => {
      const sinks = processorSinks(config, createClients());
      return async (event: KinesisStreamEvent) => {
        const warnings: string[] = [];
        const outcome = await processBatch(event, context, { config, sinks, write: (line) => void (/"level":"(WARN|ERROR)"/.test(line) && !line.includes('quarantined') && warnings.push(line)) });
        if (outcome.retried > 0) throw new Error(`the benchmark's batch left ${outcome.retried} records for retry: ${warnings.slice(0, 3).join('; ')}`);
        return { calls: outcome.calls, alerts: outcome.alertsPublished };
      };
    };
    const steady = container(steadyConfig);
    const storm = container(stormConfig);
    const peerHandler = powertoolsPeer({
      tableName: stormConfig.readingsTableName,
      eventBusName: stormConfig.eventBusName,
      warningThreshold: stormConfig.warningThreshold,
      criticalThreshold: stormConfig.criticalThreshold,
    });
    const peer = async (event: KinesisStreamEvent) => {
      const before = await stub.calls();
      const response = await peerHandler(event, context);
      const after = await stub.calls();
      const calls = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
      return { calls, alerts: (calls.PutEvents as number | undefined) ?? 0, failures: response.batchItemFailures.length };
    };

    // Warm-up: the containers learn their windows and the alert state its sensors; the peer its levels.
    for (let i = 0; i < 4; i++) {
      await steady(makeEvent(i));
      await storm(makeEvent(i, undefined, true));
      await peer(makeEvent(i, undefined, true));
    }
    const floor: number[] = [];
    const steadyRuns: Run[] = [];
    const stormRuns: Run[] = [];
    const peerRuns: Run[] = [];
    for (let i = 4; i < 4 + runs; i++) {
      const event = makeEvent(i);
      const stormEvent = makeEvent(i, undefined, true);
      floor.push(decodeFloorNs(event), decodeFloorNs(stormEvent));
      steadyRuns.push(await measure(() => steady(event)));
      stormRuns.push(await measure(() => storm(stormEvent)));
      peerRuns.push(await measure(() => peer(stormEvent)));
    }
    const floorNs = Math.min(...floor);
    const result = {
      decodeFloorNsPerRecord: Math.round(floorNs / RECORDS),
      steady: figures(steadyRuns, floorNs),
      storm: figures(stormRuns, floorNs),
      peerStorm: figures(peerRuns, floorNs),
      runs,
    };
    return {
      ...result,
      stormSpeedup: Math.round((result.peerStorm.nsPerRecord / result.storm.nsPerRecord) * 10) / 10,
      stormWallSpeedup: Math.round((result.peerStorm.wallMs / result.storm.wallMs) * 10) / 10,
    };
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await stub.stop();
  }
}

/** The section of the benchmark's printout. */
export function printSdkBench(b: SdkBench, label = '2') {
  const line = (name: string, f: SdkFigures) =>
    `   ${name}: ${f.nsPerRecord} ns/record CPU (median ${f.medianNsPerRecord}), ratio ${f.ratio} to the decode floor; wall ${f.wallMs} ms; ` +
    `${f.totalCalls} AWS calls ${JSON.stringify(f.calls)}; ${f.alertsPublished} alerts`;
  console.log(`${label}. real AWS SDK against a local HTTP stub (${b.runs} runs each, fastest CPU), decode floor ${b.decodeFloorNsPerRecord} ns/record:`);
  console.log(line('steady stream', b.steady));
  console.log(line('transition storm', b.storm));
  console.log(line('Powertools-style peer, same storm', b.peerStorm));
  console.log(`   storm: the processor is ${b.stormSpeedup}x faster than the peer in CPU (${b.stormWallSpeedup}x in wall time)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 7;
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new Error(`--runs takes a whole number from 1 to 100, got '${process.argv[at + 1]}'`);
  const result = await sdkBench(runs);
  printSdkBench(result);
  console.log(JSON.stringify(result));
}
