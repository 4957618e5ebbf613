/** Parameters, their console grouping, Conditions and Rules: everything an operator sets at deploy. */
import { Fn, type IntrinsicFunction } from 'cloudform-types';
import type Parameter from 'cloudform-types/types/parameter';
import { LOG_RETENTION_DAYS, RANGES, type StackConfig } from './config';
import { ref } from './intrinsics';
import { ids } from './names';

export const Param = ids(
  'EnvironmentSuffix',
  'ThrowawayEnvironment',
  'KinesisStreamMode',
  'KinesisShardCount',
  'StreamRetentionHours',
  'DynamoDBBillingMode',
  'DynamoDBReadCapacity',
  'DynamoDBWriteCapacity',
  'AlertThresholdCongestionIndex',
  'CriticalThresholdCongestionIndex',
  'AlertCooldownSeconds',
  'BatchingWindowSeconds',
  'ProcessorParallelizationFactor',
  'ProcessorMemoryMB',
  'ProcessorReservedConcurrency',
  'ZoneIndexShards',
  'ReadingRetentionDays',
  'LogRetentionDays',
  'NotificationEmail',
  'OpsNotificationEmail',
  'LambdaCodeS3Bucket',
  'LambdaCodeS3Key',
  'QuickSightPrincipalArn',
  // provisioning
  'DeviceCaCertificatePem',
  'DeviceCaVerificationCertificatePem',
);
export type ParamName = keyof typeof Param;

export const Cond = ids(
  'IsStreamProvisioned',
  'IsTableProvisioned',
  'IsTableOnDemand',
  'IsThrowaway',
  'HasNotificationEmail',
  'HasOpsNotificationEmail',
  'HasQuickSight',
  // provisioning
  'HasDeviceCa',
  'HasDeviceCaVerification',
);
export type ConditionName = keyof typeof Cond;

/** `Ref` to a parameter, typed by the registry. */
export const param = (name: ParamName): IntrinsicFunction => ref(name);

/** Empty, or one PEM certificate (CloudFormation parameter values allow up to 4,096 bytes). */
const PEM_CERTIFICATE_PATTERN = '^$|^-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\s]+-----END CERTIFICATE-----\\s*$';
const EMAIL_PATTERN = '^$|^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$';
const steps = (from: number, to: number, step: number): number[] =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

/** The Parameters section; every default comes from the config. */
export function buildParameters(config: StackConfig): Record<ParamName, Parameter> {
  const d = config.parameters;
  const num = (
    description: string,
    def: number,
    range: { min: number; max: number },
  ): Parameter => ({
    Type: 'Number',
    Description: description,
    Default: def,
    MinValue: range.min,
    MaxValue: range.max,
    ConstraintDescription: `must be a whole number from ${range.min} to ${range.max}`,
  });
  const thresholds = steps(RANGES.threshold.min, RANGES.threshold.max, config.thresholdStep);
  const thresholdConstraint = `must be a multiple of ${config.thresholdStep} from ${RANGES.threshold.min} to ${RANGES.threshold.max}`;
  return {
    EnvironmentSuffix: {
      Type: 'String',
      Description: 'Suffix of every physical resource name (for example dev, staging, prod).',
      Default: d.environmentSuffix,
      AllowedPattern: '^[a-z0-9]{1,12}$',
      ConstraintDescription: 'must be 1-12 lowercase letters or digits (S3 bucket names allow no uppercase)',
    },
    ThrowawayEnvironment: {
      Type: 'String',
      Description:
        "'true' deletes the tables, bucket, stream and queues with the stack (dev and test only); " +
        "'false' retains them on stack deletion and resource replacement.",
      Default: d.throwawayEnvironment,
      AllowedValues: ['true', 'false'],
      ConstraintDescription: "must be 'true' or 'false'",
    },
    KinesisStreamMode: {
      Type: 'String',
      Description: 'PROVISIONED uses KinesisShardCount shards; ON_DEMAND scales shards automatically at a higher unit price.',
      Default: d.kinesisStreamMode,
      AllowedValues: ['PROVISIONED', 'ON_DEMAND'],
      ConstraintDescription: 'must be PROVISIONED or ON_DEMAND',
    },
    KinesisShardCount: num(
      'Shards when PROVISIONED. One shard takes 1,000 records/s: 50,000 sensors at 1 Hz need 50; the default adds 20% headroom.',
      d.kinesisShardCount,
      RANGES.kinesisShardCount,
    ),
    StreamRetentionHours: num(
      'How long Kinesis keeps records (a processor outage longer than this loses them from the real-time path; S3 still has them).',
      d.streamRetentionHours,
      RANGES.streamRetentionHours,
    ),
    DynamoDBBillingMode: {
      Type: 'String',
      Description: 'PAY_PER_REQUEST (on demand, pre-warmed for the default load) or PROVISIONED (with auto scaling).',
      Default: d.dynamoDbBillingMode,
      AllowedValues: ['PAY_PER_REQUEST', 'PROVISIONED'],
      ConstraintDescription: 'must be PAY_PER_REQUEST or PROVISIONED',
    },
    DynamoDBReadCapacity: num(
      'Minimum read capacity units of the readings table and its zone index when PROVISIONED (auto scaling raises it).',
      d.dynamoDbReadCapacity,
      RANGES.dynamoDbCapacity,
    ),
    DynamoDBWriteCapacity: num(
      'Minimum write capacity units of the readings table and its zone index when PROVISIONED. 50,000 readings/s rolled up over 5 s ≈ 10,000 items/s.',
      d.dynamoDbWriteCapacity,
      RANGES.dynamoDbCapacity,
    ),
    AlertThresholdCongestionIndex: {
      Type: 'Number',
      Description: 'WARNING level: a sensor whose congestion index rises above this raises a WARNING alert.',
      Default: d.warningThreshold,
      AllowedValues: thresholds.filter((t) => t < RANGES.threshold.max),
      ConstraintDescription: thresholdConstraint,
    },
    CriticalThresholdCongestionIndex: {
      Type: 'Number',
      Description: 'CRITICAL level: must be above AlertThresholdCongestionIndex.',
      Default: d.criticalThreshold,
      AllowedValues: thresholds.filter((t) => t > RANGES.threshold.min),
      ConstraintDescription: thresholdConstraint,
    },
    AlertCooldownSeconds: num(
      'Minimum time between two alerts of one sensor at one level (stops a sensor flapping around a threshold from paging people).',
      d.alertCooldownSeconds,
      RANGES.alertCooldownSeconds,
    ),
    BatchingWindowSeconds: num(
      'Rollup window: Kinesis records are gathered this long before one invocation. Longer = fewer DynamoDB writes, later dashboards and alerts.',
      d.batchingWindowSeconds,
      RANGES.batchingWindowSeconds,
    ),
    ProcessorParallelizationFactor: num(
      'Concurrent processor batches per shard (per-sensor order is kept).',
      d.processorParallelizationFactor,
      RANGES.processorParallelizationFactor,
    ),
    ProcessorMemoryMB: num('Processor memory (and so CPU share), in MB.', d.processorMemoryMb, RANGES.processorMemoryMb),
    ProcessorReservedConcurrency: num(
      'Concurrency reserved for the processor; at least KinesisShardCount × ProcessorParallelizationFactor.',
      d.processorReservedConcurrency,
      RANGES.processorReservedConcurrency,
    ),
    ZoneIndexShards: num(
      'Write shards of the zone index key (zone_id#n): spreads a busy zone over n partitions; a zone query fans out n ways.',
      d.zoneIndexShards,
      RANGES.zoneIndexShards,
    ),
    ReadingRetentionDays: num(
      'Rolled-up readings expire from DynamoDB after this many days (TTL); raw readings stay in S3.',
      d.readingRetentionDays,
      RANGES.readingRetentionDays,
    ),
    LogRetentionDays: {
      Type: 'Number',
      Description: 'Retention of every log group of the stack, in days.',
      Default: d.logRetentionDays,
      AllowedValues: [...LOG_RETENTION_DAYS],
      ConstraintDescription: 'must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)',
    },
    NotificationEmail: {
      Type: 'String',
      Description: 'Email address that receives congestion alerts (empty: no email subscription).',
      Default: '',
      AllowedPattern: EMAIL_PATTERN,
      ConstraintDescription: 'must be empty or an email address',
    },
    OpsNotificationEmail: {
      Type: 'String',
      Description: 'Email address that receives operational alarms (empty: no email subscription).',
      Default: '',
      AllowedPattern: EMAIL_PATTERN,
      ConstraintDescription: 'must be empty or an email address',
    },
    LambdaCodeS3Bucket: {
      Type: 'String',
      Description: 'S3 bucket holding the processor bundle (printed by npm run package).',
      AllowedPattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
      ConstraintDescription: 'must be an S3 bucket name',
    },
    LambdaCodeS3Key: {
      Type: 'String',
      Description: 'S3 key of the processor bundle, processor-<sha256-12>.zip (printed by npm run package).',
      AllowedPattern: '^[\\x21-\\x7e]+\\.zip$',
      ConstraintDescription: 'must be an S3 key ending in .zip',
    },
    QuickSightPrincipalArn: {
      Type: 'String',
      Description: 'QuickSight user or group ARN given the Athena data source and data set (empty: no QuickSight resources).',
      Default: '',
      AllowedPattern: '^$|^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:(user|group)/.+$',
      ConstraintDescription: 'must be empty or a QuickSight user or group ARN',
    },
    // provisioning (src/layers/provisioning.ts)
    DeviceCaCertificatePem: {
      Type: 'String',
      Description:
        'PEM of the CA that signs the sensors\' certificates (the city\'s or the vendor\'s). Set: the CA is registered with ' +
        'auto-registration and a sensor is provisioned on its first connect (JITP). Empty: no JITP.',
      Default: '',
      AllowedPattern: PEM_CERTIFICATE_PATTERN,
      ConstraintDescription: 'must be empty or one PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)',
    },
    DeviceCaVerificationCertificatePem: {
      Type: 'String',
      Description:
        'Proof that you hold the CA key: a certificate the CA signed with CN = this account\'s registration code ' +
        '(npm run provision -- --verification-cert). Required when DeviceCaCertificatePem is set.',
      Default: '',
      AllowedPattern: PEM_CERTIFICATE_PATTERN,
      ConstraintDescription: 'must be empty or one PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)',
    },
  };
}

/** Console grouping of the parameters (AWS::CloudFormation::Interface). */
export function buildInterface(): Record<string, unknown> {
  const group = (label: string, names: ParamName[]) => ({ Label: { default: label }, Parameters: names });
  return {
    'AWS::CloudFormation::Interface': {
      ParameterGroups: [
        group('Environment', [Param.EnvironmentSuffix, Param.ThrowawayEnvironment]),
        group('Stream (Kinesis)', [Param.KinesisStreamMode, Param.KinesisShardCount, Param.StreamRetentionHours]),
        group('Storage (DynamoDB)', [
          Param.DynamoDBBillingMode,
          Param.DynamoDBReadCapacity,
          Param.DynamoDBWriteCapacity,
          Param.ZoneIndexShards,
          Param.ReadingRetentionDays,
        ]),
        group('Processor (Lambda)', [
          Param.LambdaCodeS3Bucket,
          Param.LambdaCodeS3Key,
          Param.BatchingWindowSeconds,
          Param.ProcessorParallelizationFactor,
          Param.ProcessorMemoryMB,
          Param.ProcessorReservedConcurrency,
        ]),
        group('Alerting', [
          Param.AlertThresholdCongestionIndex,
          Param.CriticalThresholdCongestionIndex,
          Param.AlertCooldownSeconds,
          Param.NotificationEmail,
          Param.OpsNotificationEmail,
        ]),
        group('Operations and analytics', [Param.LogRetentionDays, Param.QuickSightPrincipalArn]),
        group('Device provisioning', [Param.DeviceCaCertificatePem, Param.DeviceCaVerificationCertificatePem]),
      ],
    },
  };
}

export function buildConditions(): Record<ConditionName, unknown> {
  return {
    IsStreamProvisioned: Fn.Equals(param(Param.KinesisStreamMode), 'PROVISIONED'),
    IsTableProvisioned: Fn.Equals(param(Param.DynamoDBBillingMode), 'PROVISIONED'),
    IsTableOnDemand: Fn.Equals(param(Param.DynamoDBBillingMode), 'PAY_PER_REQUEST'),
    IsThrowaway: Fn.Equals(param(Param.ThrowawayEnvironment), 'true'),
    HasNotificationEmail: Fn.Not(Fn.Equals(param(Param.NotificationEmail), '')),
    HasOpsNotificationEmail: Fn.Not(Fn.Equals(param(Param.OpsNotificationEmail), '')),
    HasQuickSight: Fn.Not(Fn.Equals(param(Param.QuickSightPrincipalArn), '')),
    HasDeviceCa: Fn.Not(Fn.Equals(param(Param.DeviceCaCertificatePem), '')),
    HasDeviceCaVerification: Fn.Not(Fn.Equals(param(Param.DeviceCaVerificationCertificatePem), '')),
  };
}

/**
 * Rules that reject inconsistent parameter combinations before any resource is touched.
 * CloudFormation rules cannot compare numbers, so the threshold order is checked per allowed
 * CRITICAL value: for each, WARNING must be one of the smaller allowed values.
 */
export function buildRules(config: StackConfig): Record<string, unknown> {
  const thresholds = steps(RANGES.threshold.min, RANGES.threshold.max, config.thresholdStep);
  const criticalValues = thresholds.filter((t) => t > RANGES.threshold.min);
  return {
    CriticalAboveWarning: {
      Assertions: criticalValues.map((critical) => ({
        Assert: {
          'Fn::Or': [
            { 'Fn::Not': [{ 'Fn::Equals': [param(Param.CriticalThresholdCongestionIndex), String(critical)] }] },
            {
              'Fn::Contains': [
                thresholds.filter((t) => t < critical).map(String),
                param(Param.AlertThresholdCongestionIndex),
              ],
            },
          ],
        },
        AssertDescription: `CriticalThresholdCongestionIndex ${critical} must be above AlertThresholdCongestionIndex`,
      })),
    },
    ProductionKeepsData: {
      RuleCondition: { 'Fn::Equals': [param(Param.EnvironmentSuffix), 'prod'] },
      Assertions: [
        {
          Assert: { 'Fn::Equals': [param(Param.ThrowawayEnvironment), 'false'] },
          AssertDescription: "ThrowawayEnvironment must be 'false' when EnvironmentSuffix is prod",
        },
      ],
    },
    // CertificateMode DEFAULT needs the verification certificate (RegisterCACertificate API reference).
    DeviceCaNeedsVerificationCertificate: {
      RuleCondition: { 'Fn::Not': [{ 'Fn::Equals': [param(Param.DeviceCaCertificatePem), ''] }] },
      Assertions: [
        {
          Assert: { 'Fn::Not': [{ 'Fn::Equals': [param(Param.DeviceCaVerificationCertificatePem), ''] }] },
          AssertDescription: 'DeviceCaVerificationCertificatePem is required when DeviceCaCertificatePem is set',
        },
      ],
    },
  };
}
