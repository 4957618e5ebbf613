/** The processor Lambda, its event source mapping, its queues, its role and the alarms on all of them. */
import { Lambda } from 'cloudform-types';
import {
  METRIC,
  METRIC_DIMENSION,
  PROCESSOR_RESOURCES,
  PROCESSOR_SETTINGS,
  SERVICE_NAME,
} from '../../contract';
import { queueDepthAlarm, type AlarmSpec } from '../alarms';
import type { StackConfig } from '../config';
import { encryptedQueue, logGroup, tags } from '../defaults';
import { bundledFunction, functionEnvironment, functionErrorsAlarm, functionMetric, functionStatements, lambdaRole } from '../functions';
import { allow, KINESIS_ACTIONS, policyDocument, type PolicyStatement } from '../iam';
import { arnOf, ref, sub } from '../intrinsics';
import { exported, type Layer } from '../layer';
import { alarmMetric, metric, metricStat, stackNamespace, type Metric } from '../metrics';
import { LogicalId } from '../names';
import { outputResources } from '../output-resources';
import { Param, param } from '../parameters';

type ProcessingConfig = Pick<
  StackConfig,
  | 'project'
  | 'metricsNamespacePrefix'
  | 'queueRetentionSeconds'
  | 'processorTimeoutSeconds'
  | 'processorBatchSize'
  | 'processorMaximumRetryAttempts'
  | 'processorMaximumRecordAgeSeconds'
  | 'quarantineDepthAlarmThreshold'
  | 'endToEndLatencyTargetMs'
  | 'alertLatencyTargetMs'
  | 'processorBudgetMs'
>;

/**
 * The processor's environment: every variable of the contract (contract/env.ts). Resources by
 * their binding; settings from the parameter that feeds them, or from the config.
 */
export const processorEnvironment = (config: ProcessingConfig): Record<string, unknown> =>
  functionEnvironment(config, PROCESSOR_RESOURCES, PROCESSOR_SETTINGS);

/**
 * The processor role's statements: read the stream, then each grant of each resource binding
 * (statements sharing an id share one statement), then the key and its own logs.
 */
const processorStatements = (): PolicyStatement[] =>
  functionStatements(PROCESSOR_RESOURCES, LogicalId.ProcessorLogGroup, {
    first: [allow('ReadStream', KINESIS_ACTIONS.lambdaEventSource, arnOf(LogicalId.ReadingsStream))],
    // The event source mapping sends batches it gives up on to the DLQ with the function's role.
    extraResources: { QuarantineAndDeadLetter: [arnOf(LogicalId.ProcessorDeadLetterQueue)] },
  });

/** A metric of the processor's own (Embedded Metric Format, its Service dimension): METRIC. */
export const processorMetric = (config: Pick<StackConfig, 'metricsNamespacePrefix'>, name: string): Metric =>
  metric(stackNamespace(config), name, { [METRIC_DIMENSION.service]: SERVICE_NAME });

/** A per-zone metric of the processor (one per value of its ZoneId dimension, METRIC_DIMENSION.zone). */
export const processorZoneMetric = (config: Pick<StackConfig, 'metricsNamespacePrefix'>, name: string): Metric => metric(stackNamespace(config), name);

/** A metric of the processor function (AWS/Lambda). */
export const processorFunctionMetric = (name: Parameters<typeof functionMetric>[1]): Metric => functionMetric(LogicalId.ProcessorFunction, name);

/** Alarms on the processor: falling behind, failing, throttled, its queues, and its two SLOs. */
function processorAlarms(config: ProcessingConfig): AlarmSpec[] {
  const behind =
    'Look at `processor-errors`, `processor-throttles` and the Duration graph. Throttled: raise `ProcessorReservedConcurrency` ' +
    '(≥ shards × parallelization). Slow: raise `ProcessorMemoryMB` or `ProcessorParallelizationFactor`.';
  return [
    {
      id: LogicalId.ProcessorIteratorAgeAlarm,
      name: 'processor-iterator-age',
      description:
        'The processor is falling behind the stream: alerts will miss the 30 s target. Check throttles, errors and duration.',
      runbook: `${behind} Behind after an outage: it catches up on its own; watch the age fall.`,
      // Iterator age plus the batching window is how late the processor sees a reading; the alarm
      // fires when that leaves less than the processor budget inside the alert target. Metric math
      // reads the window from the parameter, so the threshold follows it.
      metrics: [
        {
          Id: 'age',
          ReturnData: false,
          MetricStat: {
            Metric: metricStat(processorFunctionMetric('IteratorAge')),
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
      threshold: config.alertLatencyTargetMs - config.processorBudgetMs,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    },
    {
      id: LogicalId.SensorsStoppedAlarm,
      name: 'sensors-stopped',
      description: 'Fewer readings than MinimumReadingsPerMinute reach the processor (or none): sensors, IoT Core or the rule stopped',
      runbook:
        'No data at all: check the IoT rule (`iot-rule-failures`, its error log), the stream (`stream-write-throttles`) and the ' +
        'processor (`processor-errors`). Fewer: the per-zone graphs on the dashboard show where; a zone gone quiet is a ' +
        'network or power outage there. Lower `MinimumReadingsPerMinute` if the fleet shrank.',
      ...alarmMetric(processorMetric(config, METRIC.recordsIn)),
      statistic: 'Sum',
      comparison: 'LessThanThreshold',
      threshold: param(Param.MinimumReadingsPerMinute),
      evaluationPeriods: 3,
      // No data is the strongest sign of all that sensors stopped.
      treatMissingData: 'breaching',
    },
    functionErrorsAlarm({
      id: LogicalId.ProcessorErrorsAlarm,
      name: 'processor-errors',
      description: 'The processor failed whole invocations (bad data never does this): see its log group',
      runbook:
        'Read the processor log group (JSON logs). A deploy gone wrong: roll back the stack. Access denied: a policy was changed by hand.',
      fn: LogicalId.ProcessorFunction,
    }),
    {
      id: LogicalId.ProcessorThrottlesAlarm,
      name: 'processor-throttles',
      description: 'The processor is throttled: raise ProcessorReservedConcurrency to at least shards x parallelization',
      runbook: "Raise `ProcessorReservedConcurrency`; check the account's concurrency quota.",
      ...alarmMetric(processorFunctionMetric('Throttles')),
      threshold: 0,
    },
    queueDepthAlarm({
      id: LogicalId.ProcessorDeadLetterQueueAlarm,
      queue: LogicalId.ProcessorDeadLetterQueue,
      name: 'processor-dlq',
      description: 'Batches the processor gave up on after retries: their Kinesis positions are in the DLQ',
      runbook: 'Find the cause in the processor logs at that time, then see *Redriving the DLQ*.',
    }),
    queueDepthAlarm({
      id: LogicalId.QuarantineDepthAlarm,
      queue: LogicalId.QuarantineQueue,
      name: 'quarantine-depth',
      description: `More than ${config.quarantineDepthAlarmThreshold} readings failed validation: a sensor or its firmware is misbehaving`,
      runbook: 'See *The quarantine*: usually one sensor model or firmware sends a bad field.',
      threshold: config.quarantineDepthAlarmThreshold,
    }),
    {
      id: LogicalId.EndToEndLatencyAlarm,
      name: 'slo-dashboard-latency',
      description: `SLO: p99 time from IoT receipt to stored reading is above ${config.endToEndLatencyTargetMs} ms`,
      runbook: `${behind} Also DynamoDB throttles (retries add latency).`,
      ...alarmMetric(processorMetric(config, METRIC.endToEndLatencyMs)),
      extendedStatistic: 'p99',
      threshold: config.endToEndLatencyTargetMs,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    },
    {
      id: LogicalId.RawDeliveryFailuresAlarm,
      name: 'raw-data-delivery-failures',
      description:
        'Firehose would not take raw readings after retries: their records are retried by the event source mapping, holding back their shard (and the dashboard) until Firehose takes them',
      runbook:
        'The processor logs name the Firehose error. Throttling: the Direct PUT throughput quota (npm run plan: about 18 MiB/s needed at 50,000 readings/s) needs raising. ' +
        'Access or key errors: the delivery stream, its role and the key policy. Readings are not lost: the stream keeps them for StreamRetentionHours, then the DLQ (npm run redrive -- --dlq).',
      ...alarmMetric(processorMetric(config, METRIC.rawDeliveryFailures)),
      statistic: 'Sum',
      threshold: 0,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    },
    {
      id: LogicalId.AlertLatencyAlarm,
      name: 'slo-alert-latency',
      description: `SLO: p99 time from IoT receipt to published alert is above ${config.alertLatencyTargetMs} ms`,
      runbook: `${behind} Also EventBridge PutEvents throttling in the processor logs.`,
      ...alarmMetric(processorMetric(config, METRIC.alertLatencyMs)),
      extendedStatistic: 'p99',
      threshold: config.alertLatencyTargetMs,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    },
  ];
}

/**
 * The processor: its dead-letter queue, the resources its outputs create (the quarantine queue),
 * log group, role, function and the event source mapping that cannot be blocked by a poison record (bisect, bounded retries, max age, DLQ).
 */
export function buildProcessing(config: ProcessingConfig): Layer {
  const dlq = encryptedQueue(config, 'processor-dlq', LogicalId.ProcessorDeadLetterQueue);
  // What the outputs create themselves (contract/outputs.ts): the quarantine queue, ...
  const own = outputResources(config);
  const logs = logGroup(config, '/aws/lambda/tapstack-${EnvironmentSuffix}-processor');

  const role = lambdaRole(config, 'Processor Lambda: read the stream, write readings and alert state, publish alerts, quarantine bad input', [
    { PolicyName: 'processor', PolicyDocument: policyDocument(...processorStatements()) },
  ]);

  const fn = bundledFunction(config, {
    name: 'processor',
    description: 'Validates, enriches and rolls up sensor readings; alerts on congestion level transitions',
    handler: 'index.handler',
    role: LogicalId.ProcessorRole,
    logGroup: LogicalId.ProcessorLogGroup,
    memorySize: param(Param.ProcessorMemoryMB),
    timeout: config.processorTimeoutSeconds,
    reservedConcurrency: param(Param.ProcessorReservedConcurrency),
    environment: processorEnvironment(config),
  });

  const mapping = new Lambda.EventSourceMapping({
    EventSourceArn: arnOf(LogicalId.ReadingsStream),
    FunctionName: ref(LogicalId.ProcessorFunction),
    StartingPosition: 'TRIM_HORIZON',
    BatchSize: config.processorBatchSize,
    MaximumBatchingWindowInSeconds: param(Param.BatchingWindowSeconds),
    ParallelizationFactor: param(Param.ProcessorParallelizationFactor),
    BisectBatchOnFunctionError: true,
    MaximumRetryAttempts: config.processorMaximumRetryAttempts,
    MaximumRecordAgeInSeconds: config.processorMaximumRecordAgeSeconds,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    DestinationConfig: { OnFailure: { Destination: arnOf(LogicalId.ProcessorDeadLetterQueue) } },
    Tags: tags(config),
  });

  return {
    resources: {
      ...dlq.resources,
      ...own.resources,
      ProcessorLogGroup: logs,
      ProcessorRole: role,
      ProcessorFunction: fn,
      ProcessorEventSourceMapping: mapping,
    },
    outputs: {
      ProcessorFunctionName: exported('The processor Lambda function', ref(LogicalId.ProcessorFunction), 'ProcessorFunctionName'),
      ...own.outputs,
      ProcessorDeadLetterQueueUrl: exported(
        'Batches the processor gave up on (Kinesis positions to replay)',
        ref(LogicalId.ProcessorDeadLetterQueue),
        'ProcessorDeadLetterQueueUrl',
      ),
    },
    alarms: processorAlarms(config),
  };
}
