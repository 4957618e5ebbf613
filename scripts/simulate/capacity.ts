/**
 * npm run simulate:capacity -- [--sizes 100,200,400,...] [--duration S] [--json FILE] [--moto-processes 1|2]
 * A sweep over fleet sizes at 1 Hz, each a fresh simulation (rush-hour waves, so alerts flow),
 * to find the largest fleet this machine carries with p99 end-to-end ≤ 10 s and p99 alert ≤ 30 s,
 * every reading stored or quarantined once the fleet stops (nothing left behind), and where the
 * bottleneck is: the process using the most CPU (broker, moto, processor, fleet) at the first
 * size that fails. A benchmark, not a test: the figures depend on the machine and its load.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { numberFlag, parseFlags, runMain, UsageError } from '../cli';
import { DEFAULTS } from '../../template/config';
import { MOTO_PROCESS_COUNTS, type MotoProcesses } from './moto-processes';
import { slowestInvocations } from './report';
import { simulate, type Summary } from './run';

const COMMAND = 'simulate:capacity';

export interface CapacityStep {
  sensors: number;
  ok: boolean;
  why: string[];
  summary: Summary;
}

/** Why a run does not meet the targets (none: it does). */
export function shortfalls(s: Summary): string[] {
  const why: string[] = [];
  const e2e = s.latency.endToEnd.p99Ms;
  const alert = s.latency.alert.p99Ms;
  if (e2e === null || e2e > DEFAULTS.endToEndLatencyTargetMs) why.push(`p99 end-to-end ${e2e === null ? 'unmeasured' : `${(e2e / 1000).toFixed(1)} s`} > ${DEFAULTS.endToEndLatencyTargetMs / 1000} s`);
  if (alert !== null && alert > DEFAULTS.alertLatencyTargetMs) why.push(`p99 alert ${(alert / 1000).toFixed(1)} s > ${DEFAULTS.alertLatencyTargetMs / 1000} s`);
  if (s.alerts.expected > 0 && s.alerts.missed > 0) why.push(`${s.alerts.missed} of ${s.alerts.expected} alerts not delivered`);
  if (s.totals.inFlight > 0) why.push(`${s.totals.inFlight} readings still in flight after the drain (a backlog)`);
  if (s.totals.lost > 0 || s.totals.ruleErrors > 0 || s.totals.deadLettered > 0) {
    why.push(`lost ${s.totals.lost}, rule errors ${s.totals.ruleErrors}, dead-lettered ${s.totals.deadLettered}`);
  }
  return why;
}

/** moto's CPU in cores, over its processes (with DynamoDB in a second one: 'moto' and 'moto (DynamoDB)'). */
export function motoCores(s: Summary): number {
  return Object.entries(s.cpuCoresByProcess)
    .filter(([role]) => role === 'moto' || role.startsWith('moto ('))
    .reduce((sum, [, cores]) => sum + cores, 0);
}

/** The process that used the most CPU, with every process's share. */
export function bottleneck(s: Summary): string {
  const shares = Object.entries(s.cpuCoresByProcess).sort((a, b) => b[1] - a[1]);
  if (shares.length === 0) return 'unknown (no /proc)';
  const [top, cores] = shares[0]!;
  const calls = Object.entries(s.motoTimeByCall)
    .slice(0, 3)
    .map(([call, v]) => `${call} ${v.calls}×`)
    .join(', ');
  return `${top} (${cores.toFixed(2)} cores; ${shares.map(([p, c]) => `${p} ${c.toFixed(2)}`).join(', ')}; load average ${s.loadAverage1m ?? '?'})${top === 'moto' && calls ? `; moto's busiest calls: ${calls}` : ''}`;
}

async function main(): Promise<void> {
  const flags = parseFlags(COMMAND, process.argv.slice(2), {
    sizes: { type: 'string', help: 'comma-separated fleet sizes, ascending (default 50,100,200,400,800,1200,2000,3000)' },
    duration: { type: 'string', help: 'seconds of traffic per size, 20-600 (default 60)' },
    json: { type: 'string', help: 'file to write the sweep to (JSON)' },
    'moto-processes': { type: 'string', help: 'moto processes, 1 or 2 (default 2: DynamoDB from a second one)' },
  });
  const sizes = (flags.sizes ?? '50,100,200,400,800,1200,2000,3000').split(',').map((raw) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 20_000) throw new UsageError(`${COMMAND}: --sizes takes whole numbers from 1 to 20000, got '${raw}'`);
    return n;
  });
  const duration = numberFlag(COMMAND, 'duration', flags.duration, 60);
  if (duration < 20 || duration > 600) throw new UsageError(`${COMMAND}: --duration takes a number from 20 to 600, got '${flags.duration}'`);

  const motoProcesses = Number(flags['moto-processes'] ?? 2);
  if (!(MOTO_PROCESS_COUNTS as readonly number[]).includes(motoProcesses)) {
    throw new UsageError(`${COMMAND}: --moto-processes takes one of ${MOTO_PROCESS_COUNTS.join(', ')}, got '${flags['moto-processes']}'`);
  }
  const steps: CapacityStep[] = [];
  for (const sensors of sizes) {
    console.log(`\n== ${sensors} sensors at 1 Hz for ${duration} s`);
    const { summary } = await simulate({
      sensors,
      hz: 1,
      zones: Math.min(24, Math.max(3, Math.round(sensors / 50))),
      durationSeconds: duration,
      scenario: 'rush-hour',
      environment: 'cap',
      wavePeriodSeconds: Math.max(20, Math.round(duration / 2)),
      drainSeconds: 15,
      motoProcesses: motoProcesses as MotoProcesses,
    });
    const why = shortfalls(summary);
    steps.push({ sensors, ok: why.length === 0, why, summary });
    const e2e = summary.latency.endToEnd;
    const alert = summary.latency.alert;
    console.log(
      `   published ${summary.readingsPerSecond.published}/s, stored ${summary.readingsPerSecond.stored}/s; p99 end-to-end ${e2e.p99Ms ?? '–'} ms, p99 alert ${alert.p99Ms ?? '–'} ms; ` +
        `in flight ${summary.totals.inFlight}; ${why.length ? `FAILS: ${why.join('; ')}` : 'meets the targets'}`,
    );
    if (summary.afterStartup) {
      const after = summary.afterStartup.endToEnd;
      console.log(
        `   after the start-up (readings published from ${summary.afterStartup.fromSeconds} s, when the lanes' first invocations had returned): ` +
          `p50 ${after.p50Ms ?? '–'} ms, p99 ${after.p99Ms ?? '–'} ms over ${after.count} readings (a diagnosis; the targets are the whole run's)`,
      );
    }
    const inv = summary.invocation;
    console.log(`   processor: ${summary.invocations} invocations of ${inv.meanRecords} records on average, p50 ${inv.p50Ms ?? '–'} ms, p99 ${inv.p99Ms ?? '–'} ms, max ${inv.maxMs ?? '–'} ms`);
    console.log(`   slowest invocations: ${slowestInvocations(summary.invocation.slowest)}`);
    console.log(`   CPU: ${bottleneck(summary)}; moto in all ${motoCores(summary).toFixed(2)} cores`);
    if (why.length) break;
  }
  const passed = steps.filter((s) => s.ok);
  const best = passed[passed.length - 1];
  const failed = steps.find((s) => !s.ok);
  console.log('');
  console.log(best ? `Largest fleet meeting the targets: ${best.sensors} sensors at 1 Hz.` : 'No fleet size met the targets.');
  if (failed) console.log(`At ${failed.sensors} sensors the bottleneck is ${bottleneck(failed.summary)}.`);
  if (flags.json) {
    const path = resolve(flags.json);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify({ largest: best?.sensors ?? 0, bottleneck: failed ? bottleneck(failed.summary) : undefined, steps }, null, 2)}\n`);
    console.log(`Sweep written to ${path}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runMain(main);
