/**
 * CloudWatch metrics as values (aws-cdk-lib's `Metric`): each layer declares the metrics of its
 * resources next to them (`processorMetric`, `queueMetric`, ...), and both its alarms
 * (`alarmMetric`) and the dashboard (`dashboardMetric`) take them from there, so a metric's
 * namespace, name and dimensions are written once.
 *
 * Dimension values and namespaces are Fn::Sub templates: `${Resource}` (its Ref),
 * `${Resource.Attribute}` (its GetAtt), text with other `${...}` placeholders, or plain text. The
 * dashboard body is one Fn::Sub, so it takes them as they are; an alarm takes each as the
 * intrinsic Fn::Sub resolves it to (Ref, GetAtt, Fn::Sub or the text:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-sub.html).
 */
import { metricsNamespace } from '../contract';
import type { MetricAlarmSpec } from './alarms';
import type { StackConfig } from './config';
import { getAtt, ref, sub } from './intrinsics';

export interface Metric {
  namespace: string;
  name: string;
  dimensions: Readonly<Record<string, string>>;
}

export const metric = (namespace: string, name: string, dimensions: Record<string, string> = {}): Metric => ({ namespace, name, dimensions });

/** The namespace of the stack's own metrics, `<prefix>/${EnvironmentSuffix}` (a Fn::Sub template). */
export const stackNamespace = (config: Pick<StackConfig, 'metricsNamespacePrefix'>): string =>
  metricsNamespace(config.metricsNamespacePrefix, '${EnvironmentSuffix}');

/** What Fn::Sub makes of a template, as the intrinsic an alarm property takes. */
function resolved(template: string): unknown {
  const whole = /^\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?\}$/.exec(template);
  if (whole) return whole[2] ? getAtt(whole[1]!, whole[2]) : ref(whole[1]!);
  return template.includes('${') ? sub(template) : template;
}

/** The metric of an alarm (MetricAlarmSpec's namespace, metric and dimensions). */
export function alarmMetric(m: Metric): Pick<MetricAlarmSpec, 'namespace' | 'metric' | 'dimensions'> {
  return {
    namespace: resolved(m.namespace),
    metric: m.name,
    dimensions: Object.fromEntries(Object.entries(m.dimensions).map(([name, value]) => [name, resolved(value)])),
  };
}

/** The metric of a metric-math alarm's MetricStat. */
export function metricStat(m: Metric): { Namespace: unknown; MetricName: string; Dimensions: { Name: string; Value: unknown }[] } {
  const { namespace, metric: name, dimensions } = alarmMetric(m);
  return { Namespace: namespace, MetricName: name, Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })) };
}

/** A dashboard SEARCH expression over every value of one dimension of a metric (every zone, say). */
export const searchExpression = (m: Metric, dimension: string, stat: string, periodSeconds: number): string =>
  `SEARCH('{${m.namespace},${dimension}} MetricName="${m.name}"', '${stat}', ${periodSeconds})`;

/** A row of a dashboard metric widget: namespace, name, each dimension's name and value, then the row's options. */
export function dashboardMetric(m: Metric, options: Record<string, unknown>): unknown[] {
  return [m.namespace, m.name, ...Object.entries(m.dimensions).flat(), options];
}
