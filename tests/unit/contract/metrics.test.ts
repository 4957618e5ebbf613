/**
 * Counts declared once: every count of contract/metrics.ts (BATCH_COUNTS) reaches the handler's
 * outcome, the metrics document and (when marked) the dashboard.
 */
import { describe, expect, it } from 'vitest';
import { BATCH_COUNTS, METRIC, SINK_COUNTS, type BatchCount, type BatchCounts } from '../../../contract';
import { emfDocuments } from '../../../handlers/processor/core/metrics';
import { processBatch } from '../../../handlers/processor/handler';
import type { Sink } from '../../../handlers/processor/sinks/sink';
import { DEFAULTS } from '../../../template/config';
import { buildTemplate } from '../../../template/index';
import { dashboardCounts } from '../../../template/layers/monitoring';
import { kinesisEvent, reading } from '../../helpers/kinesis';
import { TEST_CONFIG } from '../../helpers/processor-config';

const keys = Object.keys(BATCH_COUNTS) as BatchCount[];
const template = buildTemplate(DEFAULTS);
const dashboard = JSON.parse(template.Resources.Dashboard!.Properties.DashboardBody['Fn::Sub'] as string) as {
  widgets: { type: string; properties: { title?: string; metrics?: unknown[][] } }[];
};

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
