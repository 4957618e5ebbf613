/**
 * One simulation: moto with the stack made by CreateStack of the template, a local PKI, the
 * broker with the sensor policy and the topic rule, the emulated event source mapping invoking
 * the built bundle, a local subscriber for alerts, the fleet; the books kept as readings move;
 * everything stopped by PID at the end (also when something fails on the way).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV } from '../../contract';
import type { Moto } from '../lib/moto';
import type { MotoProcesses } from './moto-processes';
import type { LocalBroker } from './broker';
import type { CpuMeter } from './cpu';
import type { LocalConsole } from './local-console';
import type { FleetSensor } from './fleet';
import type { Ledger } from './ledger';
import { owned } from './owned';
import { CONSOLE_DIST } from '../build-console';
import { requireConsoleBuild } from './console-server';
import type { Connection } from './connection';
import { sensorIdentity } from './pki';
import type { LocalRegistry } from './registry';
import type { StackView } from './stack-view';
import type { LatencyView, SimSnapshot } from './state';
import type { Scenario } from './traffic';
import { tapAlerts } from './phases/alert-tap';
import { closeBooks, keepBooks, openBooks } from './phases/books';
import { buildCity, startCityConsole } from './phases/city';
import { Teardown, type PhaseContext } from './phases/context';
import { fleetConnected, forkFleet, type RunningFleet } from './phases/fleet';
import { startIngest, writeDeviceConnection } from './phases/ingest';
import { createLake } from './phases/lake';
import { drainAndLook, runTraffic, shutDown, startLoops } from './phases/loop';
import { startProcessing } from './phases/processing';
import { deployStack } from './phases/stack';

export { LOCAL_DEVICE } from './phases/ingest';
export { renderAlert } from './phases/books';
export { scheduleRateMs } from './phases/processing';

export interface SimulationOptions {
  sensors: number;
  hz: number;
  zones: number;
  /** Seconds of traffic; undefined = until stopped. */
  durationSeconds?: number;
  scenario: Scenario;
  /** Environment suffix of the throwaway stack. */
  environment?: string;
  /** Stack parameters over the template's defaults (shards and concurrency are sized from the fleet otherwise). */
  stackParameters?: Record<string, string>;
  wavePeriodSeconds?: number;
  daySeconds?: number;
  silentAfterSeconds?: number;
  /** Longest wait for readings in flight after the fleet stops. */
  drainSeconds?: number;
  /** Lines for the operator (alerts, phases); none when undefined. */
  print?: (line: string) => void;
  /** Once a second. */
  onTick?: (snapshot: SimSnapshot, simulation: Simulation) => void;
  /** Called once the fleet is connected, before the run's clock counts (tests misbehave here). */
  onReady?: (simulation: Simulation) => Promise<void>;
  /** Aborts the run early (Ctrl-C). */
  signal?: AbortSignal;
  /** The weather text of every reading (free text from the sensor; the console shows it as text). */
  weatherCondition?: string;
  /** Where the connection file goes (default: a new temporary directory); removed at the end. */
  out?: string;
  /** How often the health detector runs (default: the template's schedule; tests run it faster). */
  detectorIntervalSeconds?: number;
  /** The device whose certificate the connection file holds: a fleet sensor's id, or a thing outside the fleet (default sensor-local). */
  device?: string;
  /** moto processes: 2 (default) answers DynamoDB from a second one (moto-processes.ts says how and why), 1 runs every service in one. */
  motoProcesses?: MotoProcesses;
}

export interface Simulation {
  ledger: Ledger;
  view: StackView;
  env: Record<string, string>;
  broker: LocalBroker;
  /** moto for every service (DynamoDB too with one process). */
  moto: Moto;
  /** The moto answering DynamoDB (a second process, or `moto`). */
  dynamodb: Moto;
  pki: { caPem: string };
  /** The IoT registry the broker consults: the fleet's things and certificates (tests add their own). */
  registry: LocalRegistry;
  /** Identities of the fleet's sensors (for tests that misbehave on purpose). */
  identities: FleetSensor[];
  publishTopic: string;
  cpu: CpuMeter;
  refusals: { what: 'connect' | 'publish'; thing: string; detail: string }[];
  /** Records the rule made for things outside the fleet, by record key (shard and sequence number, ledger.ts recordKey): the thing, and the quarantine reason once quarantined. */
  outsiders: ReadonlyMap<string, { thing: string; reason?: string }>;
  snapshot(): SimSnapshot;
  /** A new certificate from the local CA (a device outside the fleet). */
  issueIdentity(sensorId: string, zoneId: string): Promise<{ keyPem: string; certificatePem: string }>;
  /** The PIDs of every process the simulation started, by role. */
  pids(): Record<string, number[]>;
  /** The traffic controllers' console: its API handler, token issuer and routes (scripts/simulate/local-console.ts). */
  console: LocalConsole;
  /** The connection file and the commands that use it. */
  connection: Connection;
}

export interface SimulationResult {
  snapshot: SimSnapshot;
  summary: Summary;
}

export interface Summary {
  scenario: string;
  sensors: number;
  hz: number;
  zones: number;
  durationSeconds: number;
  readingsPerSecond: { published: number; stored: number };
  /**
   * published (the fleet's) + external = stored + quarantined + rule errors + dead-lettered +
   * not received + in flight; lost (taken by the processor, found nowhere) must be 0.
   */
  totals: Ledger['totals'] & { inFlight: number; lost: number; notReceived: number };
  /** Readings the broker took that the fleet did not send, and where they ended. */
  external: { byKind: Ledger['externalByKind']; stored: number; quarantined: number };
  /** Client ids taken over by a second connection (the first is closed, as IoT Core does). */
  takeovers: string[];
  /** Fleet readings the broker never received: their MQTT connection closed under them (a takeover) before the broker took them. */
  notReceivedSamples: string[];
  /** Messages in the quarantine queue at the end (the simulator reads none of them: they are there for npm run quarantine). */
  quarantineQueueDepth: number | undefined;
  /** The silent-sensor detector, run on the template's schedule: how often it ran, the events it published (Sensor Silent, Sensor Recovered). */
  health: { detectorRuns: number; events: string[]; scheduleSeconds: number; healthItems: number | undefined };
  /** The processes the run started, by role: every one is stopped by PID before the summary is printed. */
  stoppedPids: Record<string, number[]>;
  quarantinedByReason: Record<string, number>;
  badReadings: { sent: Record<string, number>; quarantined: Record<string, number> };
  misplaced: string[];
  /** Readings the processor took that are in neither DynamoDB nor the quarantine (at most 5). */
  lostSamples: string[];
  latency: SimSnapshot['latency'];
  /**
   * End-to-end latency of the readings published after the start-up (from when the last of the
   * lanes' first invocations returned, in seconds after the fleet started): the run's sustained
   * figure beside the whole run's, which includes the first batches. A diagnosis; the targets are
   * checked on the whole run (capacity.ts shortfalls).
   */
  afterStartup: { fromSeconds: number; endToEnd: LatencyView } | null;
  alerts: { expected: number; received: number; duplicates: number; missed: number; unexpected: number; missedSamples: string[] };
  cpuCoresByProcess: Record<string, number>;
  /** moto's busiest API calls: how many, and the seconds spent answering them (threads overlap). */
  /** moto's time by API call: wall seconds from request to answer, and the CPU seconds its threads used. */
  motoTimeByCall: Record<string, { calls: number; seconds: number; cpuSeconds?: number }>;
  loadAverage1m: number | undefined;
  invocations: number;
  /** Records per invocation and how long invocations took. */
  invocation: {
    meanRecords: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    /**
     * The five slowest, slowest first: when each started (seconds after the fleet started), its
     * lane and records, and for a lane's first invocation the time its container took to start.
     * They are what sets the p99 end-to-end (a reading waits the batching window, then its invocation).
     */
    slowest: { atSeconds: number; lane: number; records: number; ms: number; coldStartInitMs?: number }[];
  };
  coldStarts: number;
  stack: { shards: number; batchingWindowSeconds: number; parallelizationFactor: number; rollupWindowSeconds: number; cooldownSeconds: number };
}

/**
 * Runs a simulation to its end, phase by phase (scripts/simulate/phases/); everything it started is
 * stopped by PID before it returns or throws: each phase registers what it starts on the teardown
 * as soon as it has started it, so a failure in a later phase stops what earlier ones started.
 */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  // Before anything starts: a run without the console's build fails at once, naming the command.
  requireConsoleBuild(CONSOLE_DIST);
  const teardown = new Teardown();
  const workDir = mkdtempSync(join(tmpdir(), 'tapstack-sim-'));
  owned.path(workDir);
  teardown.add(() => owned.removed(workDir));
  const ctx: PhaseContext = { options, print: options.print ?? (() => undefined), environment: options.environment ?? 'sim', workDir, teardown };
  try {
    const stack = await deployStack(ctx);
    stack.env[ENV.deliveryStreamName] = await createLake(ctx, stack);
    const tap = await tapAlerts(ctx, stack);
    const city = await buildCity(ctx, stack);
    const localConsole = await startCityConsole(ctx, stack, city);
    const { ledger, startedAt } = openBooks(ctx, stack, city);
    const ingest = await startIngest(ctx, stack, city, ledger);
    const connection = await writeDeviceConnection(ctx, stack, city, ingest);
    const processing = await startProcessing(ctx, stack, ledger, ingest, localConsole);
    const books = keepBooks(ctx, stack, tap, ledger, processing.toVerify);

    let fleet: RunningFleet | undefined;
    const loops = startLoops(ctx, stack, processing, localConsole, ledger, books, { fleetPid: () => fleet?.child.pid, simulation: () => simulation });
    const simulation: Simulation = {
      ledger,
      view: stack.view,
      env: stack.env,
      broker: ingest.broker,
      moto: stack.moto,
      dynamodb: stack.motos.dynamodb,
      pki: city.pki,
      registry: city.registry,
      identities: city.identities,
      publishTopic: stack.outputs.SensorPublishTopic!,
      cpu: loops.cpu,
      refusals: ingest.refusals,
      outsiders: ingest.outsiders,
      snapshot: () => ledger.snapshot(Date.now()),
      issueIdentity: (sensorId, zoneId) => sensorIdentity(city.pki, sensorId, zoneId, '0,0'),
      pids: loops.roles,
      console: localConsole,
      connection,
    };
    fleet = forkFleet(ctx, stack, city, ingest, ledger, startedAt);
    await fleetConnected(ctx, fleet);

    await options.onReady?.(simulation);
    const trafficSeconds = await runTraffic(ctx, fleet, startedAt);
    await drainAndLook(ctx, stack, fleet, ingest, processing, ledger, books, loops);
    const stopped = await shutDown(stack, ingest, processing, loops);
    return closeBooks(ctx, stack, ledger, {
      trafficSeconds,
      takeovers: ingest.takeovers,
      quarantineQueueDepth: stopped.quarantineQueueDepth,
      health: { detectorRuns: processing.detector.runs, events: books.healthEvents.slice(0, 20), scheduleSeconds: processing.detector.scheduleMs / 1000, healthItems: stopped.healthItems },
      stoppedPids: loops.seenPids(),
      cpuCoresByProcess: loops.cpu.shares(),
      motoSeconds: stopped.motoSeconds,
      invocations: processing.pollers.reduce((n, p) => n + p.invocations, 0),
      invocationLog: processing.invocations,
      trafficStartedAt: startedAt,
      coldStarts: processing.pool.coldStarts,
      shards: processing.shardIds.length,
    });
  } finally {
    await teardown.run();
  }
}
