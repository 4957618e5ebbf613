/**
 * Counts and metrics declared once: every count of contract/metrics.ts (BATCH_COUNTS) reaches the
 * handler's outcome, the metrics document and (when marked) the dashboard; and an alarm and the
 * dashboard that watch one metric name it the same way (both take it from the helper beside its
 * resource, src/metrics.ts).
 */
import { describe, expect, it } from 'vitest';
import { BATCH_COUNTS, METRIC, SINK_COUNTS, type BatchCount, type BatchCounts } from '../../contract';
import { emfDocuments } from '../../handlers/processor/core/metrics';
import { processBatch } from '../../handlers/processor/handler';
import type { Sink } from '../../handlers/processor/sinks/sink';
import { DEFAULTS } from '../../src/config';
import { buildTemplate } from '../../src/index';
import { dashboardCounts } from '../../src/layers/monitoring';
import { alarmMetric, metric } from '../../src/metrics';
import { kinesisEvent, reading } from '../helpers/kinesis';
import { TEST_CONFIG } from '../helpers/processor-config';

const keys = Object.keys(BATCH_COUNTS) as BatchCount[];
const template = buildTemplate(DEFAULTS);
type Row = [string, string, ...unknown[]];
const dashboard = JSON.parse(template.Resources.Dashboard!.Properties.DashboardBody['Fn::Sub'] as string) as {
  widgets: { type: string; properties: { title?: string; metrics?: unknown[][] } }[];
};
const rows = dashboard.widgets.flatMap((w) => (w.properties.metrics ?? []).filter((r): r is Row => typeof r[0] === 'string'));

describe('BATCH_COUNTS (contract/metrics.ts)', () => {
  it('names a distinct metric for every count, and METRIC carries each', () => {
    const names = keys.map((k) => BATCH_COUNTS[k].metric);
    expect(new Set(names).size).toBe(names.length);
    for (const k of keys) expect(METRIC[k]).toBe(BATCH_COUNTS[k].metric);
  });

  it('puts every count in the metrics document, with its value', () => {
    const counts = Object.fromEntries(keys.map((k, i) => [k, i + 1])) as BatchCounts;
    const [service] = emfDocuments('TapStack/test', 0, counts, { endToEndMs: [], alertMs: [] }, []).map((l) => JSON.parse(l));
    const declared = service._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name);
    for (const [i, k] of keys.entries()) {
      expect(declared, k).toContain(BATCH_COUNTS[k].metric);
      expect(service[BATCH_COUNTS[k].metric], k).toBe(i + 1);
    }
  });

  it("sums every sink count over the sinks into the handler's outcome and its metrics", async () => {
    // Two sinks, each reporting every sink count (a distinct value per count).
    const sink: Sink = async () => ({ failedRecords: [], counts: Object.fromEntries(SINK_COUNTS.map((k, i) => [k, 10 + i])) });
    const lines: string[] = [];
    const outcome = await processBatch(kinesisEvent([reading(1, Date.now())]), { getRemainingTimeInMillis: () => 10_000 }, {
      config: TEST_CONFIG,
      sinks: [sink, sink],
      write: (line) => lines.push(line),
    });
    const service = JSON.parse(lines.find((l) => l.includes('"Service"'))!);
    for (const [i, k] of SINK_COUNTS.entries()) {
      expect(outcome[k], k).toBe(2 * (10 + i));
      expect(service[BATCH_COUNTS[k].metric], k).toBe(2 * (10 + i));
    }
    for (const k of keys) expect(typeof outcome[k], k).toBe('number');
  });

  it("graphs the counts marked for the dashboard, in the table's order, and no other", () => {
    const widget = dashboard.widgets.find((w) => w.properties.title?.startsWith('Records through the processor'))!;
    const graphed = widget.properties.metrics!.map((r) => r[1]);
    expect(graphed).toEqual(dashboardCounts().map((k) => BATCH_COUNTS[k].metric));
    expect(dashboardCounts().length).toBeGreaterThan(0);
    for (const k of keys) if (!BATCH_COUNTS[k].dashboard) expect(graphed, k).not.toContain(BATCH_COUNTS[k].metric);
  });
});

describe('metric helpers (src/metrics.ts)', () => {
  it('gives an alarm what Fn::Sub makes of each template: Ref, GetAtt, Fn::Sub or the text', () => {
    const m = alarmMetric(metric('TapStack/${EnvironmentSuffix}', 'M', { A: '${Table}', B: '${Queue.QueueName}', C: 'plain', D: 'x-${EnvironmentSuffix}' }));
    expect(JSON.parse(JSON.stringify(m))).toEqual({
      namespace: { 'Fn::Sub': 'TapStack/${EnvironmentSuffix}' },
      metric: 'M',
      dimensions: { A: { Ref: 'Table' }, B: { 'Fn::GetAtt': ['Queue', 'QueueName'] }, C: 'plain', D: { 'Fn::Sub': 'x-${EnvironmentSuffix}' } },
    });
  });

  it('names a metric the same way in an alarm and on the dashboard, wherever both watch it', () => {
    /** An alarm property as the dashboard body (one Fn::Sub) writes it. */
    const asSub = (v: unknown): string => {
      const x = JSON.parse(JSON.stringify(v)) as string | { Ref?: string; 'Fn::GetAtt'?: string[]; 'Fn::Sub'?: string };
      if (typeof x === 'string') return x;
      if (x.Ref) return `\${${x.Ref}}`;
      if (x['Fn::GetAtt']) return `\${${x['Fn::GetAtt'].join('.')}}`;
      return x['Fn::Sub']!;
    };
    let compared = 0;
    for (const resource of Object.values(template.Resources)) {
      if (resource.Type !== 'AWS::CloudWatch::Alarm' || !resource.Properties.MetricName) continue;
      const p = resource.Properties as { Namespace: unknown; MetricName: string; Dimensions: { Name: string; Value: unknown }[] };
      const alarmed = [asSub(p.Namespace), p.MetricName, ...p.Dimensions.flatMap((d) => [d.Name, asSub(d.Value)])];
      // The same metric: its name, of the same resources (dimension values); then namespace and dimension names must agree.
      const values = (r: unknown[]) => JSON.stringify(r.filter((_, i) => i >= 3 && i % 2 === 1));
      const watched = rows.filter((r) => r[1] === p.MetricName && values(r.slice(0, -1)) === values(alarmed));
      if (watched.length > 0) {
        compared++;
        for (const r of watched) expect(r.slice(0, -1), p.MetricName).toEqual(alarmed);
      }
    }
    // The processor's counts and SLOs, its function, the stream, the tables, the queues, the alert rule, Firehose, the detector.
    expect(compared).toBeGreaterThanOrEqual(12);
  });
});
