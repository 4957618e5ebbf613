/** What the terminal shows: the live line and the summary at the end. Pure formatting. */
import type { Summary } from './run';
import type { LatencyView, SimSnapshot } from './state';

const ms = (v: number | null) => (v === null ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(0)}s` : `${(v / 1000).toFixed(1)}s`);
const n = (v: number) => Math.round(v).toLocaleString('en-US');

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
    `  stack: ${s.stack.shards} shard(s), batching window ${s.stack.batchingWindowSeconds} s, parallelization ${s.stack.parallelizationFactor}, rollup window ${s.stack.rollupWindowSeconds} s, cooldown ${s.stack.cooldownSeconds} s`,
    `  readings/s: published ${s.readingsPerSecond.published}, stored ${s.readingsPerSecond.stored}`,
    `  published ${n(t.published)} = stored ${n(t.stored)} + quarantined ${n(t.quarantined)} + rule errors ${n(t.ruleErrors)} + dead-lettered ${n(t.deadLettered)} + in flight ${n(t.inFlight)}; lost ${t.lost}`,
    `  quarantined by reason:`,
    ...(reasons.length ? reasons : ['    (none)']),
    ...s.lostSamples.map((l) => `    lost: ${l}`),
    ...(s.misplaced.length ? ['  MISPLACED (bugs):', ...s.misplaced.map((m) => `    ${m}`)] : []),
    `  end-to-end (publish → item in DynamoDB): p50 ${ms(s.latency.endToEnd.p50Ms)} p99 ${ms(s.latency.endToEnd.p99Ms)} over ${n(s.latency.endToEnd.count)} readings, ${verdict(s.latency.endToEnd)}`,
    `  alert (publish of the crossing reading → alert received): p50 ${ms(s.latency.alert.p50Ms)} p99 ${ms(s.latency.alert.p99Ms)} over ${s.latency.alert.count}, ${verdict(s.latency.alert)}`,
    `  alerts: expected ${s.alerts.expected}, received ${s.alerts.received}, duplicates ${s.alerts.duplicates}, missed ${s.alerts.missed}, unexpected ${s.alerts.unexpected}`,
    ...s.alerts.missedSamples.map((m) => `    missed: ${m}`),
    `  processor: ${s.invocations} invocations of ${s.invocation.meanRecords} records on average, p50 ${ms(s.invocation.p50Ms)} max ${ms(s.invocation.maxMs)}; ${s.coldStarts} cold starts`,
    `  CPU (cores) by process: ${cpu}; load average ${s.loadAverage1m ?? '?'} on this machine`,
    `  moto's time by call: ${Object.entries(s.motoTimeByCall).map(([call, v]) => `${call} ${v.calls}× ${v.seconds} s`).join(', ') || 'unknown'}`,
  ];
}
