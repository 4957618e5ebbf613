/**
 * npm run simulate -- [--sensors N] [--hz R] [--zones Z] [--duration S]
 *                     [--scenario rush-hour|incident|steady] [--port P] [--json FILE]
 *                     [--out DIR] [--device ID] [--build]
 * The whole pipeline on this machine (docs/simulate.md): sensors over MQTT/TLS, IoT policy and
 * rule, Kinesis, the event source mapping and the built processor bundle, DynamoDB, alerts; a live
 * line, a dashboard on --port, a summary at the end (Ctrl-C or --duration).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { numberFlag, parseFlags, runMain, UsageError } from './cli';
import { startDashboard, type Dashboard } from './simulate/dashboard/index';
import { progressLine, summaryLines } from './simulate/report';
import { LOCAL_DEVICE, simulate } from './simulate/run';
import { stopNow } from './simulate/owned';
import { buildAll } from './build';
import type { SimSnapshot } from './simulate/state';
import { SCENARIOS, type Scenario } from './simulate/traffic';

const COMMAND = 'simulate';

export const SIMULATE_FLAGS = {
  sensors: { type: 'string', help: 'sensors in the fleet, 1-20000 (default 100)' },
  hz: { type: 'string', help: 'readings per second per sensor, 0.1-10 (default 1)' },
  zones: { type: 'string', help: 'zones, 1-100 (default 12)' },
  duration: { type: 'string', help: 'seconds of traffic, 5-86400 (default: until Ctrl-C)' },
  scenario: { type: 'string', help: `${SCENARIOS.join('|')} (default rush-hour)` },
  port: { type: 'string', help: 'dashboard port, 0-65535 (default 8080; 0 = any free port)' },
  json: { type: 'string', help: 'file to write the summary to (JSON)' },
  out: { type: 'string', help: 'folder for the connection file, the CA and the device certificate (default: a new temporary folder; removed at the end)' },
  device: { type: 'string', help: `the device whose certificate and key the connection file holds: a fleet sensor (sensor-00001) or a thing outside the fleet (default ${LOCAL_DEVICE})` },
  build: { type: 'boolean', help: 'build the template and the processor bundle first (what npm start does)' },
} as const;

export interface SimulateArgs {
  sensors: number;
  hz: number;
  zones: number;
  durationSeconds?: number;
  scenario: Scenario;
  port: number;
  json?: string;
  out?: string;
  device?: string;
  build: boolean;
}

const ranged = (name: string, raw: string | undefined, fallback: number, min: number, max: number, integer: boolean): number => {
  const value = numberFlag(COMMAND, name, raw, fallback);
  if (value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${COMMAND}: --${name} takes ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got '${raw}'`);
  }
  return value;
};

/** Reads and checks the flags; one clear error naming the flag and what it takes. */
export function parseSimulateArgs(argv: string[]): SimulateArgs {
  const flags = parseFlags(COMMAND, argv, SIMULATE_FLAGS, 'The whole pipeline on this machine against moto (docs/simulate.md). Ctrl-C drains what is in flight, prints the books and stops everything; a second Ctrl-C quits at once.');
  if (flags.device !== undefined && !/^[a-zA-Z0-9:_-]{1,128}$/.test(flags.device)) {
    throw new UsageError(`${COMMAND}: --device takes a thing name (1-128 of A-Z a-z 0-9 _ : -), got '${flags.device}'`);
  }
  const scenario = flags.scenario ?? 'rush-hour';
  if (!(SCENARIOS as readonly string[]).includes(scenario)) {
    throw new UsageError(`${COMMAND}: --scenario takes one of ${SCENARIOS.join(', ')}, got '${scenario}'`);
  }
  const sensors = ranged('sensors', flags.sensors, 100, 1, 20_000, true);
  const zones = ranged('zones', flags.zones, 12, 1, 100, true);
  if (zones > sensors) throw new UsageError(`${COMMAND}: --zones (${zones}) must not exceed --sensors (${sensors}): every zone needs a sensor`);
  return {
    sensors,
    hz: ranged('hz', flags.hz, 1, 0.1, 10, false),
    zones,
    durationSeconds: flags.duration === undefined ? undefined : ranged('duration', flags.duration, 60, 5, 86_400, false),
    scenario: scenario as Scenario,
    port: ranged('port', flags.port, 8080, 0, 65_535, true),
    json: flags.json,
    out: flags.out,
    device: flags.device,
    build: flags.build === true,
  };
}

async function main(): Promise<void> {
  const args = parseSimulateArgs(process.argv.slice(2));
  const tty = process.stdout.isTTY === true;
  let live = '';
  const print = (line: string) => {
    if (tty && live) process.stdout.write('\r\x1b[2K');
    console.log(line);
    if (tty && live) process.stdout.write(live);
  };
  let latest: SimSnapshot | undefined;
  let lastPlain = 0;
  const abort = new AbortController();
  // The children (moto, the fleet, the processor containers) run in process groups of their own:
  // a Ctrl-C in the terminal (or a signal to npm's process group, or to this process) reaches this
  // process only, which drains, prints the books and stops them. A second one quits at once, still
  // killing every child by PID and removing every key and connection file (stopNow).
  // One signal can arrive more than once: a signal to npm's process group reaches this process
  // directly and again through tsx, which relays SIGTERM to it. Repeats within half a second are that.
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted && Date.now() - firstSignalAt < 500) return;
    if (abort.signal.aborted) {
      process.stderr.write(`\n${signal} again: quitting at once (children killed, keys removed; no books)\n`);
      stopNow();
      process.exit(130);
    }
    firstSignalAt = Date.now();
    print(`\n${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping; waiting for the readings in flight, then the books (Ctrl-C again to quit at once)…`);
    abort.abort();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  if (args.build) await buildAll(print);

  let dashboard: Dashboard | undefined;
  const { summary } = await simulate({
    sensors: args.sensors,
    hz: args.hz,
    zones: args.zones,
    durationSeconds: args.durationSeconds,
    scenario: args.scenario,
    signal: abort.signal,
    print,
    out: args.out,
    device: args.device,
    onReady: async (simulation) => {
      dashboard = await startDashboard({ port: args.port, snapshot: () => latest ?? simulation.snapshot(), console: simulation.console.plugin });
      simulation.console.issuer.bindOrigin(dashboard.consoleUrl!);
      print(`Traffic controllers' console: ${dashboard.consoleUrl} (sign in as the local controller or supervisor)`);
      print(`Simulator panel (books, latencies, CPU): ${dashboard.url}`);
      for (const line of simulation.connection.lines) print(line);
    },
    onTick: (snapshot) => {
      latest = snapshot;
      const line = progressLine(snapshot);
      if (tty) {
        live = line.slice(0, (process.stdout.columns ?? 200) - 1);
        process.stdout.write(`\r\x1b[2K${live}`);
      } else if (snapshot.now - lastPlain >= 10_000) {
        lastPlain = snapshot.now;
        console.log(line);
      }
    },
  }).finally(async () => {
    await dashboard?.close();
    if (tty) process.stdout.write('\n');
    live = '';
  });
  for (const line of summaryLines(summary)) console.log(line);
  if (args.json) {
    const path = resolve(args.json);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`  summary written to ${path}`);
  }
  for (const signal of signals) process.off(signal, onSignal);
}

if (import.meta.url === `file://${process.argv[1]}`) await runMain(main);
