/** Alarms to the ops topic, and the live dashboard (the < 10 s view; QuickSight is for history). */
import { CloudWatch } from 'cloudform-types';
import { exported, tags, type Layer } from '../common';
import type { StackConfig } from '../config';
import { METRIC, METRIC_DIMENSION, READINGS_TABLE, SERVICE_NAME } from '../contract';
import { getAtt, ref, sub } from '../intrinsics';
import { LogicalId, physicalName, physicalNamePattern, type LogicalIdName } from '../names';
import { ALERT_RULE_BASE_NAME } from './alerting';
import { TOPIC_RULE_NAME } from './ingestion';

type Dimensions = Record<string, unknown>;
interface AlarmSpec {
  id: LogicalIdName;
  name: string;
  description: string;
  namespace: unknown;
  metric: string;
  dimensions: Dimensions;
  statistic?: 'Sum' | 'Maximum' | 'Minimum' | 'Average';
  extendedStatistic?: string;
  comparison?: 'GreaterThanThreshold' | 'LessThanThreshold';
  threshold: number;
  periodSeconds?: number;
  evaluationPeriods?: number;
  datapointsToAlarm?: number;
  treatMissingData?: 'notBreaching' | 'breaching' | 'missing';
}

const ALARM_NAME_PREFIX = physicalNamePattern('');
const ITERATOR_AGE_ALARM_NAME = 'processor-iterator-age';

function alarm(config: StackConfig, spec: AlarmSpec): CloudWatch.Alarm {
  return new CloudWatch.Alarm({
    AlarmName: sub(`${ALARM_NAME_PREFIX}${spec.name}`),
    AlarmDescription: spec.description,
    Namespace: spec.namespace as string,
    MetricName: spec.metric,
    Dimensions: Object.entries(spec.dimensions).map(([Name, Value]) => ({ Name, Value: Value as string })),
    ...(spec.extendedStatistic ? { ExtendedStatistic: spec.extendedStatistic } : { Statistic: spec.statistic ?? 'Sum' }),
    ComparisonOperator: spec.comparison ?? 'GreaterThanThreshold',
    Threshold: spec.threshold,
    Period: spec.periodSeconds ?? 60,
    EvaluationPeriods: spec.evaluationPeriods ?? 1,
    DatapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods ?? 1,
    TreatMissingData: spec.treatMissingData ?? 'notBreaching',
    AlarmActions: [ref(LogicalId.OpsTopic)],
    OKActions: [ref(LogicalId.OpsTopic)],
    Tags: tags(config),
  });
}

const lambdaDims = () => ({ FunctionName: ref(LogicalId.ProcessorFunction) });
const queueDims = (id: LogicalIdName) => ({ QueueName: getAtt(id, 'QueueName') });
const serviceDims = () => ({ [METRIC_DIMENSION.service]: SERVICE_NAME });
const alertRuleName = physicalNamePattern(ALERT_RULE_BASE_NAME);

export function alarmSpecs(config: StackConfig): AlarmSpec[] {
  const ns = sub(`${config.metricsNamespacePrefix}/\${EnvironmentSuffix}`);
  const queueAlarm = (id: LogicalIdName, queue: LogicalIdName, name: string, description: string, threshold = 0): AlarmSpec => ({
    id,
    name,
    description,
    namespace: 'AWS/SQS',
    metric: 'ApproximateNumberOfMessagesVisible',
    dimensions: queueDims(queue),
    statistic: 'Maximum',
    threshold,
    periodSeconds: 300,
  });
  const tableThrottle = (id: LogicalIdName, name: string, what: string, table: LogicalIdName, index?: string): AlarmSpec => ({
    id,
    name,
    description: `DynamoDB is throttling writes to ${what}: the processor retries with backoff, then reports records for retry`,
    namespace: 'AWS/DynamoDB',
    metric: 'WriteThrottleEvents',
    dimensions: { TableName: ref(table), ...(index ? { GlobalSecondaryIndexName: index } : {}) },
    threshold: 0,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
  });
  return [
    {
      id: LogicalId.StreamWriteThrottleAlarm,
      name: 'stream-write-throttles',
      description: 'Kinesis rejects writes from IoT Core: add shards (KinesisShardCount) or switch to ON_DEMAND',
      namespace: 'AWS/Kinesis',
      metric: 'WriteProvisionedThroughputExceeded',
      dimensions: { StreamName: ref(LogicalId.ReadingsStream) },
      threshold: 0,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    },
    {
      id: LogicalId.ProcessorErrorsAlarm,
      name: 'processor-errors',
      description: 'The processor failed whole invocations (bad data never does this): see its log group',
      namespace: 'AWS/Lambda',
      metric: 'Errors',
      dimensions: lambdaDims(),
      threshold: 0,
    },
    {
      id: LogicalId.ProcessorThrottlesAlarm,
      name: 'processor-throttles',
      description: 'The processor is throttled: raise ProcessorReservedConcurrency to at least shards x parallelization',
      namespace: 'AWS/Lambda',
      metric: 'Throttles',
      dimensions: lambdaDims(),
      threshold: 0,
    },
    queueAlarm(
      LogicalId.ProcessorDeadLetterQueueAlarm,
      LogicalId.ProcessorDeadLetterQueue,
      'processor-dlq',
      'Batches the processor gave up on after retries: their Kinesis positions are in the DLQ',
    ),
    queueAlarm(
      LogicalId.AlertDeliveryDeadLetterQueueAlarm,
      LogicalId.AlertDeliveryDeadLetterQueue,
      'alert-delivery-dlq',
      'Alerts EventBridge could not deliver to the alerts topic',
    ),
    queueAlarm(
      LogicalId.QuarantineDepthAlarm,
      LogicalId.QuarantineQueue,
      'quarantine-depth',
      `More than ${config.quarantineDepthAlarmThreshold} readings failed validation: a sensor or its firmware is misbehaving`,
      config.quarantineDepthAlarmThreshold,
    ),
    tableThrottle(LogicalId.ReadingsTableThrottleAlarm, 'readings-table-throttles', 'the readings table', LogicalId.ReadingsTable),
    tableThrottle(
      LogicalId.ZoneIndexThrottleAlarm,
      'zone-index-throttles',
      'the zone index (raise ZoneIndexShards if one zone is hot)',
      LogicalId.ReadingsTable,
      READINGS_TABLE.zoneIndexName,
    ),
    tableThrottle(LogicalId.AlertStateTableThrottleAlarm, 'alert-state-throttles', 'the alert-state table', LogicalId.AlertStateTable),
    {
      id: LogicalId.TopicRuleFailureAlarm,
      name: 'iot-rule-failures',
      description: 'The IoT topic rule failed to put readings on the stream: see the IoT rule error log group',
      namespace: ns,
      metric: METRIC.iotRuleActionFailures,
      dimensions: {},
      threshold: 0,
    },
    {
      id: LogicalId.AlertRuleFailedInvocationsAlarm,
      name: 'alert-rule-failed-invocations',
      description: 'EventBridge failed to deliver alerts to the alerts topic (check the topic and key policies)',
      namespace: 'AWS/Events',
      metric: 'FailedInvocations',
      dimensions: { EventBusName: getAtt(LogicalId.AlertBus, 'Name'), RuleName: sub(alertRuleName) },
      threshold: 0,
    },
    {
      id: LogicalId.DeliveryFreshnessAlarm,
      name: 'firehose-freshness',
      description: 'Raw readings are not reaching S3 in time (Firehose delivery is behind)',
      namespace: 'AWS/Firehose',
      metric: 'DeliveryToS3.DataFreshness',
      dimensions: { DeliveryStreamName: ref(LogicalId.DeliveryStream) },
      statistic: 'Maximum',
      threshold: config.firehoseBufferIntervalSeconds * 3,
      periodSeconds: 300,
    },
    {
      id: LogicalId.DeliveryFailureAlarm,
      name: 'firehose-delivery-failures',
      description: 'Firehose failed to write raw readings to S3 (see its log group and errors/ in the bucket)',
      namespace: 'AWS/Firehose',
      metric: 'DeliveryToS3.Success',
      dimensions: { DeliveryStreamName: ref(LogicalId.DeliveryStream) },
      statistic: 'Minimum',
      comparison: 'LessThanThreshold',
      threshold: 1,
      periodSeconds: 300,
    },
    {
      id: LogicalId.EndToEndLatencyAlarm,
      name: 'slo-dashboard-latency',
      description: `SLO: p99 time from IoT receipt to stored reading is above ${config.endToEndLatencyTargetMs} ms`,
      namespace: ns,
      metric: METRIC.endToEndLatencyMs,
      dimensions: serviceDims(),
      extendedStatistic: 'p99',
      threshold: config.endToEndLatencyTargetMs,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    },
    {
      id: LogicalId.AlertLatencyAlarm,
      name: 'slo-alert-latency',
      description: `SLO: p99 time from IoT receipt to published alert is above ${config.alertLatencyTargetMs} ms`,
      namespace: ns,
      metric: METRIC.alertLatencyMs,
      dimensions: serviceDims(),
      extendedStatistic: 'p99',
      threshold: config.alertLatencyTargetMs,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    },
  ];
}

/**
 * Iterator age plus the batching window is how late the processor sees a reading; the alarm fires
 * when that leaves less than the processor budget inside the 30 s alert target. Metric math
 * reads the window from the parameter, so the threshold follows it.
 */
function iteratorAgeAlarm(config: StackConfig): CloudWatch.Alarm {
  return new CloudWatch.Alarm({
    AlarmName: sub(`${ALARM_NAME_PREFIX}${ITERATOR_AGE_ALARM_NAME}`),
    AlarmDescription:
      'The processor is falling behind the stream: alerts will miss the 30 s target. Check throttles, errors and duration.',
    Metrics: [
      {
        Id: 'age',
        ReturnData: false,
        MetricStat: {
          Metric: { Namespace: 'AWS/Lambda', MetricName: 'IteratorAge', Dimensions: [{ Name: 'FunctionName', Value: ref(LogicalId.ProcessorFunction) }] },
          Period: 60,
          Stat: 'Maximum',
        },
      },
      {
        Id: 'delay',
        Label: 'Iterator age plus batching window (ms)',
        Expression: sub('age + 1000 * ${BatchingWindowSeconds}'),
        ReturnData: true,
      },
    ],
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: config.alertLatencyTargetMs - config.processorBudgetMs,
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    TreatMissingData: 'notBreaching',
    AlarmActions: [ref(LogicalId.OpsTopic)],
    OKActions: [ref(LogicalId.OpsTopic)],
    Tags: tags(config),
  });
}

/** The dashboard body, with `${...}` placeholders that Fn::Sub resolves. */
export function dashboardBody(config: StackConfig): Record<string, unknown> {
  const ns = `${config.metricsNamespacePrefix}/\${EnvironmentSuffix}`;
  const svc = [METRIC_DIMENSION.service, SERVICE_NAME];
  const fn = ['FunctionName', '${ProcessorFunction}'];
  const refresh = config.dashboardRefreshSeconds;
  const metricWidget = (title: string, metrics: unknown[], extra: Record<string, unknown> = {}) => ({
    type: 'metric',
    width: 12,
    height: 6,
    properties: { title, region: '${AWS::Region}', view: 'timeSeries', stacked: false, period: 60, metrics, ...extra },
  });
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
            `Per-zone metrics are high resolution; set the dashboard's auto refresh to ${refresh} seconds. ` +
            'History lives in Athena (workgroup ${AthenaWorkGroup}).',
        },
      },
      metricWidget('Mean congestion index per zone', [[zoneSearch(METRIC.zoneCongestionIndex, '')]], {
        period: refresh,
        yAxis: { left: { min: 0, max: 100 } },
      }),
      metricWidget('Vehicles per zone (mean per reading)', [[zoneSearch(METRIC.zoneVehicleCount, '')]], { period: refresh }),
      metricWidget(
        'Latency SLOs (ms)',
        [
          [ns, METRIC.endToEndLatencyMs, ...svc, { stat: 'p99', label: 'Reading to dashboard p99' }],
          [ns, METRIC.alertLatencyMs, ...svc, { stat: 'p99', label: 'Reading to alert p99' }],
        ],
        {
          annotations: {
            horizontal: [
              { label: 'Dashboard target', value: config.endToEndLatencyTargetMs },
              { label: 'Alert target', value: config.alertLatencyTargetMs },
            ],
          },
        },
      ),
      metricWidget('Records through the processor (per minute)', [
        [ns, METRIC.recordsIn, ...svc, { stat: 'Sum' }],
        [ns, METRIC.recordsStored, ...svc, { stat: 'Sum' }],
        [ns, METRIC.recordsQuarantined, ...svc, { stat: 'Sum' }],
        [ns, METRIC.recordsRetried, ...svc, { stat: 'Sum' }],
        [ns, METRIC.itemsWritten, ...svc, { stat: 'Sum' }],
        [ns, METRIC.alertsPublished, ...svc, { stat: 'Sum' }],
      ]),
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
        ['AWS/Events', 'Invocations', 'EventBusName', '${AlertBus.Name}', 'RuleName', alertRuleName, { stat: 'Sum' }],
        ['AWS/Events', 'FailedInvocations', 'EventBusName', '${AlertBus.Name}', 'RuleName', alertRuleName, { stat: 'Sum' }],
        ['AWS/Firehose', 'DeliveryToS3.DataFreshness', 'DeliveryStreamName', '${DeliveryStream}', { stat: 'Maximum', yAxis: 'right' }],
      ]),
      {
        type: 'alarm',
        width: 24,
        height: 4,
        properties: {
          title: 'Alarms',
          alarms: [ITERATOR_AGE_ALARM_NAME, ...alarmSpecs(config).map((a) => a.name)].map(
            (name) => `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${ALARM_NAME_PREFIX}${name}`,
          ),
        },
      },
    ],
  };
}

export function buildMonitoring(config: StackConfig): Layer {
  const resources: Layer['resources'] = { ProcessorIteratorAgeAlarm: iteratorAgeAlarm(config) };
  for (const spec of alarmSpecs(config)) resources[spec.id] = alarm(config, spec);
  resources.Dashboard = new CloudWatch.Dashboard({
    DashboardName: physicalName('traffic'),
    DashboardBody: sub(JSON.stringify(dashboardBody(config))),
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
