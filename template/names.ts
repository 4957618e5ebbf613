/**
 * The logical-ID registry. Logical IDs are a contract with deployed stacks: renaming one makes
 * CloudFormation replace the resource (and, for a data store, orphan or delete its data).
 */
import { OWN_RESOURCE_IDS } from '../contract/outputs';
import { sub } from './intrinsics';
import type { IntrinsicFunction } from 'cloudform-types';

/** A registry whose keys are their own values: `ids('A', 'B')` is `{ A: 'A', B: 'B' }`. */
export const ids = <T extends string>(...names: T[]): { readonly [K in T]: K } =>
  Object.fromEntries(names.map((n) => [n, n])) as { [K in T]: K };

export const LogicalId = ids(
  // security
  'EncryptionKey',
  'EncryptionKeyAlias',
  // ingestion
  'SensorPolicy',
  'SensorTopicRule',
  'TopicRuleRole',
  'TopicRuleErrorLogGroup',
  'TopicRuleFailureMetricFilter',
  // stream
  'ReadingsStream',
  'ReadingsStreamPolicy',
  // processing
  'ProcessorFunction',
  'ProcessorRole',
  'ProcessorLogGroup',
  'ProcessorEventSourceMapping',
  'ProcessorDeadLetterQueue',
  'ProcessorDeadLetterQueuePolicy',
  // the resources the processor's outputs create, and their policies (declared with their output: contract/outputs.ts)
  ...OWN_RESOURCE_IDS,
  // storage
  'ReadingsTable',
  'AlertStateTable',
  'ReadingsTableReadScalableTarget',
  'ReadingsTableReadScalingPolicy',
  'ReadingsTableWriteScalableTarget',
  'ReadingsTableWriteScalingPolicy',
  'ZoneIndexReadScalableTarget',
  'ZoneIndexReadScalingPolicy',
  'ZoneIndexWriteScalableTarget',
  'ZoneIndexWriteScalingPolicy',
  // alerting
  'AlertBus',
  'AlertBusPolicy',
  'AlertArchive',
  'CongestionAlertRule',
  'SensorHealthRule',
  'AlertsTopic',
  'AlertsTopicPolicy',
  'AlertsEmailSubscription',
  'AlertDeliveryDeadLetterQueue',
  'AlertDeliveryDeadLetterQueuePolicy',
  'OpsTopic',
  'OpsTopicPolicy',
  'OpsEmailSubscription',
  // analytics
  'RawDataBucket',
  'RawDataBucketPolicy',
  'AccessLogBucket',
  'AccessLogBucketPolicy',
  'AnalyticsDatabase',
  'RawReadingsTable',
  'DeliveryStream',
  'DeliveryRole',
  'DeliveryLogGroup',
  'DeliveryLogStream',
  'AthenaWorkGroup',
  'QuickSightDataSource',
  'QuickSightDataSet',
  // health
  'SensorHealthTable',
  'HealthDetectorFunction',
  'HealthDetectorRole',
  'HealthDetectorLogGroup',
  'HealthDetectorInvokeConfig',
  'HealthDetectorDeadLetterQueue',
  'HealthDetectorDeadLetterQueuePolicy',
  'HealthDetectorSchedule',
  'HealthDetectorScheduleRole',
  'ZoneReportingShareAlarm',
  'HealthDetectorErrorsAlarm',
  'HealthDetectorDeadLetterQueueAlarm',
  // monitoring
  'ProcessorIteratorAgeAlarm',
  'SensorsStoppedAlarm',
  'StreamWriteThrottleAlarm',
  'ProcessorErrorsAlarm',
  'ProcessorThrottlesAlarm',
  'ProcessorDeadLetterQueueAlarm',
  'AlertDeliveryDeadLetterQueueAlarm',
  'QuarantineDepthAlarm',
  'ReadingsTableThrottleAlarm',
  'ZoneIndexThrottleAlarm',
  'AlertStateTableThrottleAlarm',
  'TopicRuleFailureAlarm',
  'AlertRuleFailedInvocationsAlarm',
  'DeliveryFreshnessAlarm',
  'DeliveryFailureAlarm',
  'EndToEndLatencyAlarm',
  'RawDeliveryFailuresAlarm',
  'AlertLatencyAlarm',
  'Dashboard',
  // provisioning
  'SensorThingType',
  'SensorThingGroup',
  'DeviceCaCertificate',
  'SensorProvisioningTemplate',
  'SensorProvisioningRole',
  'BulkRegistrationRole',
  'BulkRegistrationPassRolePolicy',
  // console (the traffic controllers' console)
  'SensorStatusTable',
  'ConsoleBucket',
  'ConsoleBucketPolicy',
  'ConsoleLogsBucket',
  'ConsoleLogsBucketPolicy',
  'ConsoleOriginAccessControl',
  'ConsoleRewriteFunction',
  'ConsoleResponseHeadersPolicy',
  'ConsoleDistribution',
  'ConsoleUserPool',
  'ConsoleUserPoolDomain',
  'ConsoleResourceServer',
  'ConsoleUserPoolClient',
  'ConsoleControllersGroup',
  'ConsoleSupervisorsGroup',
  'ConsoleApi',
  'ConsoleApiAuthorizer',
  'ConsoleApiIntegration',
  'ConsoleApiRouteCity',
  'ConsoleApiRouteZone',
  'ConsoleApiRouteAlerts',
  'ConsoleApiRouteSensorRollups',
  'ConsoleApiRouteSensors',
  'ConsoleApiRouteAcknowledge',
  'ConsoleApiStage',
  'ConsoleApiAccessLogGroup',
  'ConsoleApiInvokePermission',
  'ConsoleApiFunction',
  'ConsoleApiRole',
  'ConsoleApiLogGroup',
  'ConsoleApiErrorsAlarm',
  'ConsoleApiServerErrorsAlarm',
);
export type LogicalIdName = keyof typeof LogicalId;

/**
 * A physical name carrying the environment suffix, e.g. `tapstack-dev-readings`.
 * Lowercase, short and stable: it fits every service's naming rules (S3, SQS, Lambda ≤ 64).
 */
export function physicalName(base: string): IntrinsicFunction {
  return sub(physicalNamePattern(base));
}

/** The `Fn::Sub` pattern behind physicalName, for use inside larger patterns (ARNs, dashboards). */
export const physicalNamePattern = (base: string): string => `tapstack-\${EnvironmentSuffix}-${base}`;
