/**
 * npm run simulate -- [--sensors N] [--hz R] [--zones Z] [--duration S]
 *                     [--scenario rush-hour|incident|steady] [--port P] [--json FILE]
 * The whole pipeline on this machine (docs/simulate.md): sensors over MQTT/TLS, IoT policy and
 * rule, Kinesis, the event source mapping and the built processor bundle, DynamoDB, alerts; a live
 * line, a dashboard on --port, a summary at the end (Ctrl-C or --duration).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { numberFlag, parseFlags, runMain, UsageError } from './cli';
import { startDashboard, type Dashboard } from './simulate/dashboard/index';
import { progressLine, summaryLines } from './simulate/report';
import { simulate } from './simulate/run';
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
} as const;

export interface SimulateArgs {
  sensors: number;
  hz: number;
  zones: number;
  durationSeconds?: number;
  scenario: Scenario;
  port: number;
  json?: string;
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
  const flags = parseFlags(COMMAND, argv, SIMULATE_FLAGS);
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
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    print('\nCtrl-C: stopping (Ctrl-C again to quit at once)…');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  let dashboard: Dashboard | undefined;
  const { summary } = await simulate({
    sensors: args.sensors,
    hz: args.hz,
    zones: args.zones,
    durationSeconds: args.durationSeconds,
    scenario: args.scenario,
    signal: abort.signal,
    print,
    onReady: async (simulation) => {
      dashboard = await startDashboard({ port: args.port, snapshot: () => latest ?? simulation.snapshot(), console: simulation.console.plugin });
      simulation.console.issuer.bindOrigin(dashboard.consoleUrl!);
      print(`Traffic controllers' console: ${dashboard.consoleUrl} (sign in as the local controller or supervisor)`);
      print(`Simulator panel (books, latencies, CPU): ${dashboard.url}`);
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
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigint);
}

if (import.meta.url === `file://${process.argv[1]}`) await runMain(main);
