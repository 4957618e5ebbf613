/** What the terminal shows: the live line and the summary at the end. Pure formatting. */
import { count } from '../cli';
import type { Summary } from './run';
import type { LatencyView, SimSnapshot } from './state';

const ms = (v: number | null) => (v === null ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(0)}s` : `${(v / 1000).toFixed(1)}s`);
const n = (v: number) => Math.round(v).toLocaleString('en-US');

/** The slowest invocations, as a line: how long, when, lane and records, and a cold start's container start. */
export function slowestInvocations(slowest: Summary['invocation']['slowest']): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return (
    slowest
      .map((i) => `${seconds(i.ms)} at ${i.atSeconds} s (lane ${i.lane}, ${i.records} records${i.coldStartInitMs === undefined ? '' : `, its first: container ready in ${seconds(i.coldStartInitMs)}`})`)
      .join('; ') || 'none'
  );
}

/** The one-line live progress. */
export function progressLine(s: SimSnapshot): string {
  const t = Math.round((s.now - s.startedAt) / 1000);
  const q = s.totals.quarantined;
  return (
    `[${t}s] in ${n(s.rates.published)}/s stored ${n(s.rates.stored)}/s | published ${n(s.totals.published)} stored ${n(s.totals.stored)} ` +
    `quarantined ${n(q)} in flight ${n(s.totals.inFlight)} | alerts ${s.totals.alerts}` +
    `${s.totals.duplicateAlerts ? ` (dup ${s.totals.duplicateAlerts})` : ''} active ${s.activeAlerts.length} | ` +
    `p99 e2e ${ms(s.latency.endToEnd.p99Ms)} alert ${ms(s.latency.alert.p99Ms)} | silent ${s.silentSensors.length}`
  );
}

const verdict = (l: LatencyView) => (l.p99Ms === null ? 'no samples' : l.p99Ms <= l.targetMs ? `within the ${l.targetMs / 1000} s target` : `OVER the ${l.targetMs / 1000} s target`);

/** The summary printed at the end. */
export function summaryLines(s: Summary): string[] {
  const t = s.totals;
  const reasons = Object.entries(s.quarantinedByReason)
    .sort((a, b) => b[1] - a[1])
    .map(([r, c]) => `    ${String(c).padStart(7)}  ${r}`);
  const cpu = Object.entries(s.cpuCoresByProcess)
    .sort((a, b) => b[1] - a[1])
    .map(([p, c]) => `${p} ${c.toFixed(2)}`)
    .join(', ');
  return [
    '',
    `Summary: ${s.sensors} sensors at ${s.hz} Hz in ${s.zones} zones, scenario ${s.scenario}, ${s.durationSeconds} s of traffic`,
    `  stack: ${count(s.stack.shards, 'shard')}, batching window ${s.stack.batchingWindowSeconds} s, parallelization ${s.stack.parallelizationFactor}, rollup window ${s.stack.rollupWindowSeconds} s, cooldown ${s.stack.cooldownSeconds} s`,
    `  readings/s: published ${s.readingsPerSecond.published}, stored ${s.readingsPerSecond.stored}`,
    `  published ${n(t.published)}${t.external ? ` + external ${n(t.external)}` : ''} = stored ${n(t.stored)} + quarantined ${n(t.quarantined)} + rule errors ${n(t.ruleErrors)} + dead-lettered ${n(t.deadLettered)}${t.notReceived ? ` + not received ${n(t.notReceived)}` : ''} + in flight ${n(t.inFlight)}; lost ${t.lost}`,
    ...(t.external
      ? [
          `  external (the broker took them, the fleet did not send them): ${Object.entries(s.external.byKind).map(([kind, c]) => `${c} ${kind}`).join(', ')}; ${s.external.stored} stored, ${s.external.quarantined} quarantined`,
        ]
      : []),
    ...s.takeovers.map((line) => `  takeover: ${line}`),
    ...(t.notReceived ? [`  not received by the broker (their connection was closed under them, e.g. by a takeover, before it took them): ${t.notReceived}`, ...s.notReceivedSamples.map((l) => `    ${l}`)] : []),
    `  quarantined by reason${s.quarantineQueueDepth === undefined ? '' : ` (the quarantine queue holds ${count(s.quarantineQueueDepth, 'message')}: npm run quarantine reads them)`}:`,
    ...(reasons.length ? reasons : ['    (none)']),
    ...s.lostSamples.map((l) => `    lost: ${l}`),
    ...(s.misplaced.length ? ['  MISPLACED (bugs):', ...s.misplaced.map((m) => `    ${m}`)] : []),
    `  end-to-end (publish → item in DynamoDB): p50 ${ms(s.latency.endToEnd.p50Ms)} p99 ${ms(s.latency.endToEnd.p99Ms)} over ${n(s.latency.endToEnd.count)} readings, ${verdict(s.latency.endToEnd)}`,
    `  alert (publish of the crossing reading → alert received): p50 ${ms(s.latency.alert.p50Ms)} p99 ${ms(s.latency.alert.p99Ms)} over ${s.latency.alert.count}, ${verdict(s.latency.alert)}`,
    `  alerts: expected ${s.alerts.expected}, received ${s.alerts.received}, duplicates ${s.alerts.duplicates}, missed ${s.alerts.missed}, unexpected ${s.alerts.unexpected}`,
    ...s.alerts.missedSamples.map((m) => `    missed: ${m}`),
    `  processor: ${count(s.invocations, 'invocation')} of ${count(s.invocation.meanRecords, 'record')} on average, p50 ${ms(s.invocation.p50Ms)} max ${ms(s.invocation.maxMs)}; ${count(s.coldStarts, 'cold start')}`,
    `  slowest invocations: ${slowestInvocations(s.invocation.slowest)}`,
    `  sensor health: the detector ran ${count(s.health.detectorRuns, 'time')} (every ${s.health.scheduleSeconds} s), ${s.health.healthItems ?? '?'} sensors in its health table; ${s.health.events.length ? s.health.events.join('; ') : 'no Sensor Silent or Sensor Recovered event'}`,
    `  CPU (cores) by process: ${cpu}; load average ${s.loadAverage1m ?? '?'} on this machine`,
    `  stopped by PID: ${Object.entries(s.stoppedPids).map(([role, pids]) => `${role} ${pids.join(' ')}`).join(', ') || 'none'}`,
    `  moto's time by call (wall, CPU): ${Object.entries(s.motoTimeByCall).map(([call, v]) => `${call} ${v.calls}× ${v.seconds} s${v.cpuSeconds !== undefined ? ` (${v.cpuSeconds} s CPU)` : ''}`).join(', ') || 'unknown'}`,
  ];
}
