/**
 * The live dashboard (the < 10 s view; QuickSight is for history) and the alarms every layer
 * declares next to its resources, built here in registry order and listed on the dashboard.
 */
import { CloudWatch } from 'cloudform-types';
import { BATCH_COUNTS, HEALTH_METRIC, METRIC, METRIC_DIMENSION, READINGS_TABLE, type BatchCount } from '../../contract';
import { alarmArnPattern, buildAlarm, type AlarmSpec } from '../alarms';
import type { StackConfig } from '../config';
import { queueMetric } from '../defaults';
import { sub } from '../intrinsics';
import { exported, type Layer } from '../layer';
import { dashboardMetric, metric, searchExpression, stackNamespace } from '../metrics';
import { LogicalId, physicalName } from '../names';
import { alertRuleMetric } from './alerting';
import { deliveryStreamMetric } from './analytics';
import { detectorMetric } from './health';
import { topicRuleMetric } from './ingestion';
import { processorFunctionMetric, processorMetric, processorZoneMetric } from './processing';
import { tableMetric } from './storage';
import { streamMetric } from './stream';

type MonitoringConfig = Pick<
  StackConfig,
  'project' | 'metricsNamespacePrefix' | 'dashboardRefreshSeconds' | 'endToEndLatencyTargetMs' | 'alertLatencyTargetMs'
>;

const registryOrder = Object.keys(LogicalId);
/** Alarms in the order of the logical-ID registry (a stable order, whatever layer declared them). */
export const inRegistryOrder = (alarms: AlarmSpec[]): AlarmSpec[] =>
  [...alarms].sort((a, b) => registryOrder.indexOf(a.id) - registryOrder.indexOf(b.id));

/** The rows of the processor's counts graph: every count of contract/metrics.ts marked for the dashboard, in its order. */
export const dashboardCounts = (): BatchCount[] => (Object.keys(BATCH_COUNTS) as BatchCount[]).filter((k) => BATCH_COUNTS[k].dashboard);

/**
 * The dashboard body, with `${...}` placeholders that Fn::Sub resolves. Every metric comes from
 * the helper beside its resource (processorMetric, queueMetric, tableMetric, ...), as the alarms do.
 */
export function dashboardBody(config: MonitoringConfig, alarms: AlarmSpec[]): Record<string, unknown> {
  const refresh = config.dashboardRefreshSeconds;
  const metricWidget = (title: string, metrics: unknown[], extra: Record<string, unknown> = {}) => ({
    type: 'metric',
    width: 12,
    height: 6,
    properties: { title, region: '${AWS::Region}', view: 'timeSeries', stacked: false, period: 60, metrics, ...extra },
  });
  // The processor's own metrics are high resolution (1 s): 10 s periods, and the partial period
  // shown as it fills (liveData), or the graph would lag a full minute behind.
  const live = { period: refresh, liveData: true };
  const zoneSearch = (name: string) => ({
    expression: searchExpression(processorZoneMetric(config, name), METRIC_DIMENSION.zone, 'Average', refresh),
    id: name.toLowerCase(),
    label: '',
  });
  const processor = (name: string, options: Record<string, unknown>) => dashboardMetric(processorMetric(config, name), options);
  const detector = (name: string, options: Record<string, unknown>) => dashboardMetric(detectorMetric(config, name), options);
  return {
    start: '-PT1H',
    periodOverride: 'inherit',
    widgets: [
      {
        type: 'text',
        width: 24,
        height: 2,
        properties: {
          markdown:
            '# TapStack ${EnvironmentSuffix}: live traffic\n' +
            `The processor's metrics are high resolution and shown live: set the dashboard's auto refresh to ${refresh} seconds ` +
            '(the refresh menu next to the time range). ' +
            'History lives in Athena (workgroup ${AthenaWorkGroup}).',
        },
      },
      metricWidget('Mean congestion index per zone', [[zoneSearch(METRIC.zoneCongestionIndex)]], {
        ...live,
        yAxis: { left: { min: 0, max: 100 } },
      }),
      metricWidget('Vehicles per zone (mean per reading)', [[zoneSearch(METRIC.zoneVehicleCount)]], live),
      // The detector runs once a minute (standard resolution): 60 s periods.
      metricWidget('Sensors reporting per zone (silent-sensor detector)', [[{
        expression: searchExpression(metric(stackNamespace(config), HEALTH_METRIC.sensorsReporting), METRIC_DIMENSION.zone, 'Minimum', 60),
        id: 'reporting',
        label: '',
      }]]),
      metricWidget('Sensor health', [
        detector(HEALTH_METRIC.lowestZoneReportingSharePercent, { stat: 'Minimum', label: 'Lowest zone reporting share (%)' }),
        detector(HEALTH_METRIC.sensorsSilent, { stat: 'Maximum', yAxis: 'right' }),
        detector(HEALTH_METRIC.silencesHeld, { stat: 'Maximum', yAxis: 'right' }),
      ]),
      metricWidget(
        'Latency SLOs (ms)',
        [
          processor(METRIC.endToEndLatencyMs, { stat: 'p99', label: 'Reading to dashboard p99' }),
          processor(METRIC.alertLatencyMs, { stat: 'p99', label: 'Reading to alert p99' }),
        ],
        {
          ...live,
          annotations: {
            horizontal: [
              { label: 'Dashboard target', value: config.endToEndLatencyTargetMs },
              { label: 'Alert target', value: config.alertLatencyTargetMs },
            ],
          },
        },
      ),
      metricWidget(
        `Records through the processor (per ${refresh} s)`,
        dashboardCounts().map((count) => processor(BATCH_COUNTS[count].metric, { stat: 'Sum' })),
        live,
      ),
      metricWidget('Processor', [
        dashboardMetric(processorFunctionMetric('IteratorAge'), { stat: 'Maximum' }),
        dashboardMetric(processorFunctionMetric('Duration'), { stat: 'p99', yAxis: 'right' }),
        dashboardMetric(processorFunctionMetric('Errors'), { stat: 'Sum', yAxis: 'right' }),
        dashboardMetric(processorFunctionMetric('Throttles'), { stat: 'Sum', yAxis: 'right' }),
      ]),
      metricWidget('Stream', [
        dashboardMetric(streamMetric('IncomingRecords'), { stat: 'Sum' }),
        dashboardMetric(streamMetric('WriteProvisionedThroughputExceeded'), { stat: 'Sum', yAxis: 'right' }),
        dashboardMetric(topicRuleMetric('TopicMatch'), { stat: 'Sum' }),
      ]),
      metricWidget('DynamoDB writes', [
        dashboardMetric(tableMetric(LogicalId.ReadingsTable, 'ConsumedWriteCapacityUnits'), { stat: 'Sum' }),
        dashboardMetric(tableMetric(LogicalId.ReadingsTable, 'WriteThrottleEvents'), { stat: 'Sum', yAxis: 'right' }),
        dashboardMetric(tableMetric(LogicalId.ReadingsTable, 'WriteThrottleEvents', READINGS_TABLE.zoneIndexName), { stat: 'Sum', yAxis: 'right' }),
      ]),
      metricWidget('Queues (messages visible)', [
        dashboardMetric(queueMetric(LogicalId.QuarantineQueue, 'ApproximateNumberOfMessagesVisible'), { stat: 'Maximum' }),
        dashboardMetric(queueMetric(LogicalId.ProcessorDeadLetterQueue, 'ApproximateNumberOfMessagesVisible'), { stat: 'Maximum' }),
        dashboardMetric(queueMetric(LogicalId.AlertDeliveryDeadLetterQueue, 'ApproximateNumberOfMessagesVisible'), { stat: 'Maximum' }),
      ]),
      metricWidget('Alert delivery and history', [
        dashboardMetric(alertRuleMetric('Invocations'), { stat: 'Sum' }),
        dashboardMetric(alertRuleMetric('FailedInvocations'), { stat: 'Sum' }),
        dashboardMetric(deliveryStreamMetric('DeliveryToS3.DataFreshness'), { stat: 'Maximum', yAxis: 'right' }),
      ]),
      {
        type: 'alarm',
        width: 24,
        height: 4,
        properties: {
          title: 'Alarms',
          alarms: inRegistryOrder(alarms).map(alarmArnPattern),
        },
      },
    ],
  };
}

/** The alarms of every layer, and the dashboard. */
export function buildMonitoring(config: MonitoringConfig, alarms: AlarmSpec[]): Layer {
  const resources: Layer['resources'] = {};
  for (const spec of inRegistryOrder(alarms)) resources[spec.id] = buildAlarm(config, spec);
  resources.Dashboard = new CloudWatch.Dashboard({
    DashboardName: physicalName('traffic'),
    DashboardBody: sub(JSON.stringify(dashboardBody(config, alarms))),
  });
  return {
    resources,
    outputs: {
      DashboardUrl: exported(
        'Live traffic dashboard (set auto refresh to 10 s)',
        sub('https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${Dashboard}'),
        'DashboardUrl',
      ),
    },
  };
}
