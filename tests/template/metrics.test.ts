/**
 * Metrics written once (template/metrics.ts): an alarm and the dashboard that watch one metric name it
 * the same way, both taking it from the helper beside its resource.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../template/config';
import { buildTemplate } from '../../template/index';
import { alarmMetric, metric } from '../../template/metrics';

const template = buildTemplate(DEFAULTS);
type Row = [string, string, ...unknown[]];
const dashboard = JSON.parse(template.Resources.Dashboard!.Properties.DashboardBody['Fn::Sub'] as string) as {
  widgets: { type: string; properties: { title?: string; metrics?: unknown[][] } }[];
};
const rows = dashboard.widgets.flatMap((w) => (w.properties.metrics ?? []).filter((r): r is Row => typeof r[0] === 'string'));

describe('metric helpers (template/metrics.ts)', () => {
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
