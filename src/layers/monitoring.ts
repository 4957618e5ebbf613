/**
 * The live dashboard (the < 10 s view; QuickSight is for history) and the alarms every layer
 * declares next to its resources, built here in registry order and listed on the dashboard.
 */
import { CloudWatch } from 'cloudform-types';
import { DETECTOR_SERVICE_NAME, HEALTH_METRIC, METRIC, METRIC_DIMENSION, metricsNamespace, READINGS_TABLE, SERVICE_NAME } from '../../contract';
import { alarmArnPattern, buildAlarm, type AlarmSpec } from '../alarms';
import type { StackConfig } from '../config';
import { sub } from '../intrinsics';
import { exported, type Layer } from '../layer';
import { LogicalId, physicalName } from '../names';
import { ALERT_RULE_NAME } from './alerting';
import { TOPIC_RULE_NAME } from './ingestion';

type MonitoringConfig = Pick<
  StackConfig,
  'project' | 'metricsNamespacePrefix' | 'dashboardRefreshSeconds' | 'endToEndLatencyTargetMs' | 'alertLatencyTargetMs'
>;

const registryOrder = Object.keys(LogicalId);
/** Alarms in the order of the logical-ID registry (a stable order, whatever layer declared them). */
export const inRegistryOrder = (alarms: AlarmSpec[]): AlarmSpec[] =>
  [...alarms].sort((a, b) => registryOrder.indexOf(a.id) - registryOrder.indexOf(b.id));

/** The dashboard body, with `${...}` placeholders that Fn::Sub resolves. */
export function dashboardBody(config: MonitoringConfig, alarms: AlarmSpec[]): Record<string, unknown> {
  const ns = metricsNamespace(config.metricsNamespacePrefix, '${EnvironmentSuffix}');
  const svc = [METRIC_DIMENSION.service, SERVICE_NAME];
  const fn = ['FunctionName', '${ProcessorFunction}'];
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
  const zoneSearch = (metric: string, label: string) => ({
    expression: `SEARCH('{${ns},${METRIC_DIMENSION.zone}} MetricName="${metric}"', 'Average', ${refresh})`,
    id: metric.toLowerCase(),
    label,
  });
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
      metricWidget('Mean congestion index per zone', [[zoneSearch(METRIC.zoneCongestionIndex, '')]], {
        ...live,
        yAxis: { left: { min: 0, max: 100 } },
      }),
      metricWidget('Vehicles per zone (mean per reading)', [[zoneSearch(METRIC.zoneVehicleCount, '')]], live),
      // The detector runs once a minute (standard resolution): 60 s periods.
      metricWidget('Sensors reporting per zone (silent-sensor detector)', [[{
        expression: `SEARCH('{${ns},${METRIC_DIMENSION.zone}} MetricName="${HEALTH_METRIC.sensorsReporting}"', 'Minimum', 60)`,
        id: 'reporting',
        label: '',
      }]]),
      metricWidget('Sensor health', [
        [ns, HEALTH_METRIC.lowestZoneReportingSharePercent, METRIC_DIMENSION.service, DETECTOR_SERVICE_NAME, { stat: 'Minimum', label: 'Lowest zone reporting share (%)' }],
        [ns, HEALTH_METRIC.sensorsSilent, METRIC_DIMENSION.service, DETECTOR_SERVICE_NAME, { stat: 'Maximum', yAxis: 'right' }],
        [ns, HEALTH_METRIC.silencesHeld, METRIC_DIMENSION.service, DETECTOR_SERVICE_NAME, { stat: 'Maximum', yAxis: 'right' }],
      ]),
      metricWidget(
        'Latency SLOs (ms)',
        [
          [ns, METRIC.endToEndLatencyMs, ...svc, { stat: 'p99', label: 'Reading to dashboard p99' }],
          [ns, METRIC.alertLatencyMs, ...svc, { stat: 'p99', label: 'Reading to alert p99' }],
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
      metricWidget(`Records through the processor (per ${refresh} s)`, [
        [ns, METRIC.recordsIn, ...svc, { stat: 'Sum' }],
        [ns, METRIC.recordsStored, ...svc, { stat: 'Sum' }],
        [ns, METRIC.recordsQuarantined, ...svc, { stat: 'Sum' }],
        [ns, METRIC.recordsRetried, ...svc, { stat: 'Sum' }],
        [ns, METRIC.itemsWritten, ...svc, { stat: 'Sum' }],
        [ns, METRIC.alertsPublished, ...svc, { stat: 'Sum' }],
        [ns, METRIC.recordsReplayed, ...svc, { stat: 'Sum' }],
        [ns, METRIC.alertsStale, ...svc, { stat: 'Sum' }],
      ], live),
      metricWidget('Processor', [
        ['AWS/Lambda', 'IteratorAge', ...fn, { stat: 'Maximum' }],
        ['AWS/Lambda', 'Duration', ...fn, { stat: 'p99', yAxis: 'right' }],
        ['AWS/Lambda', 'Errors', ...fn, { stat: 'Sum', yAxis: 'right' }],
        ['AWS/Lambda', 'Throttles', ...fn, { stat: 'Sum', yAxis: 'right' }],
      ]),
      metricWidget('Stream', [
        ['AWS/Kinesis', 'IncomingRecords', 'StreamName', '${ReadingsStream}', { stat: 'Sum' }],
        ['AWS/Kinesis', 'WriteProvisionedThroughputExceeded', 'StreamName', '${ReadingsStream}', { stat: 'Sum', yAxis: 'right' }],
        ['AWS/IoT', 'TopicMatch', 'RuleName', TOPIC_RULE_NAME, { stat: 'Sum' }],
      ]),
      metricWidget('DynamoDB writes', [
        ['AWS/DynamoDB', 'ConsumedWriteCapacityUnits', 'TableName', '${ReadingsTable}', { stat: 'Sum' }],
        ['AWS/DynamoDB', 'WriteThrottleEvents', 'TableName', '${ReadingsTable}', { stat: 'Sum', yAxis: 'right' }],
        [
          'AWS/DynamoDB',
          'WriteThrottleEvents',
          'TableName',
          '${ReadingsTable}',
          'GlobalSecondaryIndexName',
          READINGS_TABLE.zoneIndexName,
          { stat: 'Sum', yAxis: 'right' },
        ],
      ]),
      metricWidget('Queues (messages visible)', [
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', '${QuarantineQueue.QueueName}', { stat: 'Maximum' }],
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', '${ProcessorDeadLetterQueue.QueueName}', { stat: 'Maximum' }],
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', '${AlertDeliveryDeadLetterQueue.QueueName}', { stat: 'Maximum' }],
      ]),
      metricWidget('Alert delivery and history', [
        ['AWS/Events', 'Invocations', 'EventBusName', '${AlertBus.Name}', 'RuleName', ALERT_RULE_NAME, { stat: 'Sum' }],
        ['AWS/Events', 'FailedInvocations', 'EventBusName', '${AlertBus.Name}', 'RuleName', ALERT_RULE_NAME, { stat: 'Sum' }],
        ['AWS/Firehose', 'DeliveryToS3.DataFreshness', 'DeliveryStreamName', '${DeliveryStream}', { stat: 'Maximum', yAxis: 'right' }],
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
