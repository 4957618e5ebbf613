/**
 * CloudWatch Embedded Metric Format documents for one invocation. Pure: the handler writes the
 * lines to stdout, and CloudWatch Logs turns them into metrics (no PutMetricData calls, no
 * cloudwatch:PutMetricData permission).
 */
import { BATCH_COUNTS, METRIC, METRIC_DIMENSION, SERVICE_NAME, type BatchCount, type BatchCounts } from '../../../contract';

/** EMF allows at most 100 values per metric in one document. */
export const MAX_EMF_VALUES = 100;
const QUANTILE_SAMPLE = 1_000;

export type { BatchCounts };

export interface ZoneStats {
  zoneId: string;
  congestionSum: number;
  vehicleSum: number;
  readings: number;
}

/**
 * At most 100 values that stand for the distribution: the quantiles at (i + 0.5) / 100. Percentile
 * alarms over them follow the batch's own percentiles.
 */
export function quantileSample(values: number[], max = MAX_EMF_VALUES): number[] {
  if (values.length <= max) return values.map((v) => Math.round(v));
  // Quantiles of an even sample of at most 1,000 values: close enough for a p99, 10× cheaper to sort.
  const step = Math.max(1, Math.floor(values.length / QUANTILE_SAMPLE));
  const sample = new Float64Array(Math.ceil(values.length / step));
  for (let i = 0, j = 0; i < values.length; i += step, j++) sample[j] = values[i]!;
  const sorted = sample.sort();
  return Array.from({ length: max }, (_, i) => Math.round(sorted[Math.floor(((i + 0.5) / max) * sorted.length)]!));
}

/**
 * The batch's metrics as EMF lines: one document with the counts and latency samples (Service
 * dimension), one per zone with its mean congestion and vehicle count (1 s resolution).
 */
export function emfDocuments(
  namespace: string,
  timestampMs: number,
  counts: BatchCounts,
  latencies: { endToEndMs: number[]; alertMs: number[] },
  zones: ZoneStats[],
): string[] {
  const service = { [METRIC_DIMENSION.service]: SERVICE_NAME };
  const countMetrics = (Object.keys(BATCH_COUNTS) as BatchCount[]).map((k) => [BATCH_COUNTS[k].metric, counts[k]] as const);
  // High resolution (1 s), so that the dashboard can show the current 10 s period live.
  const metrics: { Name: string; Unit: string; StorageResolution: number }[] = countMetrics.map(([Name]) => ({
    Name,
    Unit: 'Count',
    StorageResolution: 1,
  }));
  const values: Record<string, unknown> = Object.fromEntries(countMetrics);
  if (latencies.endToEndMs.length > 0) {
    metrics.push({ Name: METRIC.endToEndLatencyMs, Unit: 'Milliseconds', StorageResolution: 1 });
    values[METRIC.endToEndLatencyMs] = quantileSample(latencies.endToEndMs);
  }
  if (latencies.alertMs.length > 0) {
    metrics.push({ Name: METRIC.alertLatencyMs, Unit: 'Milliseconds', StorageResolution: 1 });
    values[METRIC.alertLatencyMs] = quantileSample(latencies.alertMs);
  }
  const doc = (dimensions: Record<string, string>, ms: { Name: string; Unit: string; StorageResolution?: number }[], vals: Record<string, unknown>) =>
    JSON.stringify({
      _aws: { Timestamp: timestampMs, CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [Object.keys(dimensions)], Metrics: ms }] },
      ...dimensions,
      ...vals,
    });
  return [
    doc(service, metrics, values),
    ...zones.map((z) =>
      doc(
        { [METRIC_DIMENSION.zone]: z.zoneId },
        [
          { Name: METRIC.zoneCongestionIndex, Unit: 'None', StorageResolution: 1 },
          { Name: METRIC.zoneVehicleCount, Unit: 'Count', StorageResolution: 1 },
        ],
        {
          [METRIC.zoneCongestionIndex]: Math.round((z.congestionSum / z.readings) * 10) / 10,
          [METRIC.zoneVehicleCount]: Math.round((z.vehicleSum / z.readings) * 10) / 10,
        },
      ),
    ),
  ];
}
