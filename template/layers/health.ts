/**
 * Sensor health: the silent-sensor detector (a second entry point of the processor bundle), the
 * schedule that runs it every minute, the health table it keeps, its dead-letter queue, its role,
 * and the alarms on all of them. A dead sensor looks like free-flowing traffic: this is what notices.
 *
 * Sources:
 *  - EventBridge Scheduler: AWS::Scheduler::Schedule (FlexibleTimeWindow, ScheduleExpression,
 *    Target with RetryPolicy and DeadLetterConfig; RetryPolicy MaximumEventAgeInSeconds 60-86,400,
 *    MaximumRetryAttempts 0-185):
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-scheduler-schedule.html
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-scheduler-schedule-retrypolicy.html
 *    The execution role needs lambda:InvokeFunction on the target and sqs:SendMessage on the DLQ:
 *    https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role
 *  - Scheduler invokes a Lambda target asynchronously; a failed run is retried by Lambda per its
 *    EventInvokeConfig (0 retries here: the next minute's run is the retry) and then sent to the
 *    on-failure destination: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 *  - Pricing (us-east-1): Scheduler $1.00 per million invocations after 14 million free a month
 *    (https://aws.amazon.com/eventbridge/pricing/): one a minute is 43,800 a month, inside the free tier.
 */
import { IAM, Lambda, Scheduler } from 'cloudform-types';
import { bundledFunction, functionEnvironment, functionErrorsAlarm, functionStatements, lambdaRole } from '../functions';
import {
  DETECTOR_RESOURCES,
  DETECTOR_SERVICE_NAME,
  DETECTOR_SETTINGS,
  HEALTH_METRIC,
  HEALTH_TABLE,
  METRIC_DIMENSION,
} from '../../contract';
import { queueDepthAlarm } from '../alarms';
import { alarmMetric, metric, stackNamespace, type Metric } from '../metrics';
import type { StackConfig } from '../config';
import { encryptedQueue, logGroup, onDemandTable, tags } from '../defaults';
import { allow, arn, assumedBy, KMS_USE_ACTIONS, policyDocument, type PolicyStatement } from '../iam';
import { accountId, arnOf, ref, sub } from '../intrinsics';
import { exported, type Layer } from '../layer';
import { LogicalId, physicalName } from '../names';
import { Param, param } from '../parameters';
import { THING_LAYOUT } from './provisioning';

type HealthConfig = Pick<StackConfig, 'project' | 'metricsNamespacePrefix' | 'queueRetentionSeconds'>;

/** One run reads ~50,000 health items and ~300,000 index keys: well inside this (measured in the report). */
export const DETECTOR_TIMEOUT_SECONDS = 50;
/** Memory (and so CPU) of the detector: it holds 50,000 items and a few hundred thousand keys. */
export const DETECTOR_MEMORY_MB = 512;
/** Runs of the detector at once. */
export const DETECTOR_RESERVED_CONCURRENCY = 1;

/**
 * Policy of the actions that have no resource type, so IAM accepts only `*` (the AWS IoT actions
 * table: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsiot.html lists no
 * resource type for ListThingGroups). The security test's listed exception.
 */
export const UNSCOPED_DETECTOR_POLICY = 'detector-actions-without-resource-types';

/** The detector's environment: its resources by binding, its settings from parameters and the layout. */
export const detectorEnvironment = (config: Pick<StackConfig, 'metricsNamespacePrefix'>): Record<string, unknown> =>
  functionEnvironment(config, DETECTOR_RESOURCES, DETECTOR_SETTINGS, { zoneParentGroup: THING_LAYOUT.zoneParentGroup });

/** The detector role's statements: each grant of each binding, the DLQ (its on-failure destination), the key, its logs. */
const detectorStatements = (): PolicyStatement[] =>
  functionStatements(DETECTOR_RESOURCES, LogicalId.HealthDetectorLogGroup, {
    then: [allow('SendFailedRunsToDeadLetterQueue', ['sqs:SendMessage'], arnOf(LogicalId.HealthDetectorDeadLetterQueue))],
  });

/** A metric of the detector's own (HEALTH_METRIC, its Service dimension), in the stack's namespace. */
export const detectorMetric = (config: Pick<StackConfig, 'metricsNamespacePrefix'>, name: string): Metric =>
  metric(stackNamespace(config), name, { [METRIC_DIMENSION.service]: DETECTOR_SERVICE_NAME });

export function buildHealth(config: HealthConfig): Layer {
  // Low, steady volume (inserts once per sensor, writes per transition, one Scan a minute): on demand.
  const table = onDemandTable(config, 'sensor-health', HEALTH_TABLE.partitionKey, { TimeToLiveSpecification: { AttributeName: HEALTH_TABLE.ttl, Enabled: true } });

  const dlq = encryptedQueue(config, 'health-detector-dlq', LogicalId.HealthDetectorDeadLetterQueue);
  const logs = logGroup(config, '/aws/lambda/tapstack-${EnvironmentSuffix}-health-detector');

  const role = lambdaRole(config, 'Silent-sensor detector: read rollup keys and sensor health, write health transitions, publish health events', [
    { PolicyName: 'health-detector', PolicyDocument: policyDocument(...detectorStatements()) },
    {
      PolicyName: UNSCOPED_DETECTOR_POLICY,
      // The zones: thing groups under the zone parent group.
      PolicyDocument: policyDocument(allow('ListZoneGroups', ['iot:ListThingGroups'], '*')),
    },
  ]);

  const fn = bundledFunction(config, {
    name: 'health-detector',
    description: 'Finds sensors silent for SilentSensorPeriods windows; publishes Sensor Silent / Sensor Recovered once each',
    // The detector's own folder (handlers/detector/), exported by the bundle's entry point.
    handler: 'index.detector',
    role: LogicalId.HealthDetectorRole,
    logGroup: LogicalId.HealthDetectorLogGroup,
    memorySize: DETECTOR_MEMORY_MB,
    timeout: DETECTOR_TIMEOUT_SECONDS,
    // One run at a time (a run that outlasts its minute must not race the next over the same health
    // items), and the detector can never take concurrency the processor needs. A throttled scheduled
    // invocation is retried by Lambda within its event age (60 s), after the run before it ended (≤ 50 s).
    reservedConcurrency: DETECTOR_RESERVED_CONCURRENCY,
    environment: detectorEnvironment(config),
  });

  const invokeConfig = new Lambda.EventInvokeConfig({
    FunctionName: ref(LogicalId.HealthDetectorFunction),
    Qualifier: '$LATEST',
    // The next scheduled run redoes whatever this one did not: a retry would only overlap it.
    MaximumRetryAttempts: 0,
    MaximumEventAgeInSeconds: 60,
    DestinationConfig: { OnFailure: { Destination: arnOf(LogicalId.HealthDetectorDeadLetterQueue) } },
  });

  const scheduleRole = new IAM.Role({
    Description: 'EventBridge Scheduler: run the silent-sensor detector every minute',
    // Scoped to the schedule group, as Scheduler requires (not to the schedule):
    // https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
    AssumeRolePolicyDocument: assumedBy('scheduler.amazonaws.com', {
      StringEquals: { 'aws:SourceAccount': accountId },
      ArnEquals: { 'aws:SourceArn': arn('scheduler', 'schedule-group/default') },
    }),
    Policies: [
      {
        PolicyName: 'run-health-detector',
        PolicyDocument: policyDocument(
          allow('RunDetector', ['lambda:InvokeFunction'], arnOf(LogicalId.HealthDetectorFunction)),
          allow('DeadLetterUndeliveredRuns', ['sqs:SendMessage'], arnOf(LogicalId.HealthDetectorDeadLetterQueue)),
          allow('EncryptForDeadLetterQueue', KMS_USE_ACTIONS, arnOf(LogicalId.EncryptionKey), {
            StringEquals: { 'kms:ViaService': sub('sqs.${AWS::Region}.amazonaws.com') },
          }),
        ),
      },
    ],
    Tags: tags(config),
  });

  const schedule = new Scheduler.Schedule({
    Name: physicalName('health-detector'),
    Description: 'Runs the silent-sensor detector every minute',
    ScheduleExpression: 'rate(1 minute)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    State: 'ENABLED',
    Target: {
      Arn: arnOf(LogicalId.HealthDetectorFunction),
      RoleArn: arnOf(LogicalId.HealthDetectorScheduleRole),
      // An invocation not delivered within a minute is superseded by the next one.
      RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
      DeadLetterConfig: { Arn: arnOf(LogicalId.HealthDetectorDeadLetterQueue) },
    },
  });

  return {
    resources: {
      SensorHealthTable: table,
      ...dlq.resources,
      HealthDetectorLogGroup: logs,
      HealthDetectorRole: role,
      HealthDetectorFunction: fn,
      HealthDetectorInvokeConfig: invokeConfig,
      HealthDetectorScheduleRole: scheduleRole,
      HealthDetectorSchedule: schedule,
    },
    outputs: {
      SensorHealthTableName: exported('Health state of every sensor seen since deploy', ref(LogicalId.SensorHealthTable), 'SensorHealthTableName'),
      HealthDetectorFunctionName: exported('The silent-sensor detector Lambda', ref(LogicalId.HealthDetectorFunction), 'HealthDetectorFunctionName'),
    },
    alarms: [
      {
        id: LogicalId.ZoneReportingShareAlarm,
        name: 'zone-reporting-share',
        description: 'In some zone, fewer than MinimumReportingSharePercent of the expected sensors reported: a power or network outage there, or many dead sensors',
        runbook:
          'The dashboard\'s `SensorsReporting` per zone says which zone; the `Sensor Silent` events on the alert bus (archive) name the sensors. ' +
          'Many sensors of one zone at once: power or backhaul there (call the field team). Spread out: see `sensors-stopped`. ' +
          'A decommissioned sensor is forgotten after `ForgetSilentSensorDays`.',
        ...alarmMetric(detectorMetric(config, HEALTH_METRIC.lowestZoneReportingSharePercent)),
        statistic: 'Minimum',
        comparison: 'LessThanThreshold',
        threshold: param(Param.MinimumReportingSharePercent),
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
      },
      functionErrorsAlarm({
        id: LogicalId.HealthDetectorErrorsAlarm,
        name: 'health-detector-errors',
        description: 'The silent-sensor detector failed a run: silences and recoveries wait for a run that succeeds',
        runbook: 'Read the detector log group `/aws/lambda/tapstack-<env>-health-detector` (JSON logs). Runs retry every minute by themselves.',
        fn: LogicalId.HealthDetectorFunction,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      }),
      queueDepthAlarm({
        id: LogicalId.HealthDetectorDeadLetterQueueAlarm,
        queue: LogicalId.HealthDetectorDeadLetterQueue,
        name: 'health-detector-dlq',
        description: 'Detector runs that failed or could not be delivered (nothing is lost: the next run decides again)',
        runbook: 'The messages say which runs failed and why; fix the cause (see `health-detector-errors`), then purge the queue.',
      }),
    ],
  };
}
