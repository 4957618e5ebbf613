import { describe, expect, it } from 'vitest';
import { DEFAULTS, type StackConfig } from '../../template/config';
import { ENV } from '../../contract';
import { buildTemplate } from '../../template/index';
import { failingRules, resolveTemplate } from '../../scripts/lib/cfn-eval';

const template = buildTemplate();
const required = { LambdaCodeS3Bucket: 'code-bucket', LambdaCodeS3Key: 'processor-0123456789ab.zip' };
const stack = (params: Record<string, string> = {}) => resolveTemplate(template, { ...required, ...params });
const autoScalingIds = (resources: Record<string, unknown>) =>
  Object.entries(resources)
    .filter(([, r]) => (r as { Type: string }).Type.startsWith('AWS::ApplicationAutoScaling::'))
    .map(([id]) => id);

describe('buildStream', () => {
  it('sets the shard count from the parameter when PROVISIONED', () => {
    const { resources } = stack({ KinesisShardCount: '75' });
    expect(resources.ReadingsStream!.Properties.ShardCount).toBe('75');
    expect(resources.ReadingsStream!.Properties.StreamModeDetails).toEqual({ StreamMode: 'PROVISIONED' });
  });
  it('drops the shard count when ON_DEMAND', () => {
    const { resources } = stack({ KinesisStreamMode: 'ON_DEMAND' });
    expect(resources.ReadingsStream!.Properties).not.toHaveProperty('ShardCount');
  });
  it('defaults to at least 50 shards (50,000 records/s at 1,000 per shard)', () => {
    expect(DEFAULTS.parameters.kinesisShardCount).toBeGreaterThanOrEqual(50);
    expect((template.Parameters.KinesisShardCount as { MaxValue: number }).MaxValue).toBeGreaterThan(100);
  });
});

describe('buildStorage', () => {
  it('is provisioned by default: the table for its window merges, the index for the boundary burst, with auto scaling', () => {
    const { resources } = stack();
    const table = resources.ReadingsTable!.Properties;
    expect(table.BillingMode).toBe('PROVISIONED');
    expect(table.ProvisionedThroughput).toEqual({ ReadCapacityUnits: '100', WriteCapacityUnits: '27100' });
    expect(table.GlobalSecondaryIndexes[0].ProvisionedThroughput).toEqual({ ReadCapacityUnits: '100', WriteCapacityUnits: '12000' });
    expect(table).not.toHaveProperty('WarmThroughput');
    expect(autoScalingIds(resources)).toHaveLength(8);
    expect(resources.ReadingsTableWriteScalableTarget!.Properties).toMatchObject({ MinCapacity: '27100', MaxCapacity: DEFAULTS.autoScalingMaxCapacity });
    expect(resources.ZoneIndexWriteScalableTarget!.Properties).toMatchObject({
      ScalableDimension: 'dynamodb:index:WriteCapacityUnits',
      MinCapacity: '12000',
    });
    expect(resources.ReadingsTableWriteScalingPolicy!.Properties.TargetTrackingScalingPolicyConfiguration.TargetValue).toBe(80);
  });
  it('is on demand and pre-warmed to DynamoDBWarmWriteUnitsPerSecond when PAY_PER_REQUEST, with no auto scaling', () => {
    const { resources } = stack({ DynamoDBBillingMode: 'PAY_PER_REQUEST', DynamoDBWarmWriteUnitsPerSecond: '20000' });
    const table = resources.ReadingsTable!.Properties;
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table).not.toHaveProperty('ProvisionedThroughput');
    expect(table.WarmThroughput).toEqual({ ReadUnitsPerSecond: DEFAULTS.warmReadUnitsPerSecond, WriteUnitsPerSecond: '20000' });
    expect(table.GlobalSecondaryIndexes[0].WarmThroughput).toEqual(table.WarmThroughput);
    expect(autoScalingIds(resources)).toEqual([]);
  });
  it('keys the zone index by the write-sharded zone_shard and enables TTL and PITR', () => {
    const table = stack().resources.ReadingsTable!.Properties;
    expect(table.GlobalSecondaryIndexes[0].KeySchema[0]).toEqual({ AttributeName: 'zone_shard', KeyType: 'HASH' });
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expires_at', Enabled: true });
    expect(table.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled).toBe(true);
  });
});

describe('retention of data stores', () => {
  const dataStores = ['ReadingsTable', 'AlertStateTable', 'ReadingsStream', 'RawDataBucket', 'QuarantineQueue', 'EncryptionKey'];
  it('retains data on deletion and replacement by default', () => {
    const { resources } = stack();
    for (const id of dataStores) {
      expect(resources[id]!.DeletionPolicy, id).toBe('Retain');
      expect(resources[id]!.UpdateReplacePolicy, id).toBe('Retain');
    }
    expect(resources.ReadingsTable!.Properties.DeletionProtectionEnabled).toBe(true);
  });
  it('deletes data with the stack in a throwaway environment', () => {
    const { resources } = stack({ ThrowawayEnvironment: 'true' });
    for (const id of dataStores) expect(resources[id]!.DeletionPolicy, id).toBe('Delete');
    expect(resources.ReadingsTable!.Properties.DeletionProtectionEnabled).toBe(false);
  });
});

describe('optional resources', () => {
  it('creates QuickSight resources only when QuickSightPrincipalArn is set', () => {
    expect(stack().resources).not.toHaveProperty('QuickSightDataSet');
    expect(stack().outputs).not.toHaveProperty('QuickSightDataSetArn');
    const on = stack({ QuickSightPrincipalArn: 'arn:aws:quicksight:us-east-1:123456789012:user/default/ops' });
    expect(on.resources.QuickSightDataSource!.Properties.Type).toBe('ATHENA');
    expect(on.resources.QuickSightDataSet!.Properties.Permissions[0].Principal).toBe(
      'arn:aws:quicksight:us-east-1:123456789012:user/default/ops',
    );
    expect(on.outputs).toHaveProperty('QuickSightDataSetArn');
  });
  it('subscribes emails only when given', () => {
    expect(stack().resources).not.toHaveProperty('AlertsEmailSubscription');
    const on = stack({ NotificationEmail: 'controllers@city.example', OpsNotificationEmail: 'ops@city.example' });
    expect(on.resources.AlertsEmailSubscription!.Properties.Endpoint).toBe('controllers@city.example');
    expect(on.resources.OpsEmailSubscription!.Properties.Endpoint).toBe('ops@city.example');
  });
});

describe('buildProcessing', () => {
  const { resources } = stack();
  it('runs nodejs24.x on arm64 with JSON logs into its own log group', () => {
    const fn = resources.ProcessorFunction!.Properties;
    expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
    expect(fn.Code).toEqual({ S3Bucket: 'code-bucket', S3Key: 'processor-0123456789ab.zip' });
    expect(fn.LoggingConfig).toMatchObject({ LogFormat: 'JSON', LogGroup: { Ref: 'ProcessorLogGroup' } });
  });
  it('sets every environment variable of the processor contract', () => {
    const vars = Object.keys(resources.ProcessorFunction!.Properties.Environment.Variables);
    expect(vars).toEqual(expect.arrayContaining(Object.values(ENV)));
  });
  it('maps the stream so that a poison record cannot block a shard', () => {
    expect(resources.ProcessorEventSourceMapping!.Properties).toMatchObject({
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: '5',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: DEFAULTS.processorMaximumRetryAttempts,
      MaximumRecordAgeInSeconds: DEFAULTS.processorMaximumRecordAgeSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['ProcessorDeadLetterQueue', 'Arn'] } } },
    });
  });
});

describe('processing after an outage', () => {
  it('keeps records for as long as the stream does, so the processor catches up (bounded retries still stop a poison record)', () => {
    const mapping = stack({ StreamRetentionHours: '168' }).resources.ProcessorEventSourceMapping!.Properties;
    expect(mapping.MaximumRecordAgeInSeconds).toBe(-1);
    expect(mapping.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(mapping.BisectBatchOnFunctionError).toBe(true);
  });
});

describe('buildMonitoring', () => {
  it('shows the processor’s high-resolution metrics live, in 10 s periods', () => {
    const body = JSON.parse((template.Resources.Dashboard!.Properties.DashboardBody['Fn::Sub'] as string).replace(/\$\{[^}]+\}/g, 'x'));
    const ours = body.widgets.filter(
      (w: { type: string; properties: { metrics?: unknown[] } }) =>
        w.type === 'metric' && JSON.stringify(w.properties.metrics).includes('TapStack/x'),
    );
    // The detector's metrics are standard resolution (one run a minute): 60 s periods, not live.
    const isDetector = (w: { properties: { metrics: unknown[] } }) => /SensorsReporting|LowestZoneReportingSharePercent/.test(JSON.stringify(w.properties.metrics));
    const processorWidgets = ours.filter((w: { properties: { metrics: unknown[] } }) => !isDetector(w));
    expect(processorWidgets.length).toBeGreaterThanOrEqual(4);
    for (const w of processorWidgets) expect(w.properties).toMatchObject({ liveData: true, period: 10 });
    const detectorWidgets = ours.filter(isDetector);
    expect(detectorWidgets).toHaveLength(2);
    for (const w of detectorWidgets) expect(w.properties.period).toBe(60);
  });
  it('alarms when readings stop, treating no data as breaching', () => {
    const alarm = stack({ MinimumReadingsPerMinute: '1000' }).resources.SensorsStoppedAlarm!.Properties;
    expect(alarm).toMatchObject({ MetricName: 'RecordsIn', ComparisonOperator: 'LessThanThreshold', Threshold: '1000', TreatMissingData: 'breaching' });
  });

  it('derives the iterator-age alarm from the 30 s alert target and the batching window', () => {
    const alarm = stack().resources.ProcessorIteratorAgeAlarm!.Properties;
    expect(alarm.Threshold).toBe(DEFAULTS.alertLatencyTargetMs - DEFAULTS.processorBudgetMs);
    expect(alarm.Threshold).toBeLessThan(60_000);
    expect(JSON.stringify(alarm.Metrics)).toContain('1000 * ${BatchingWindowSeconds}');
  });
  it('alarms when Firehose refuses raw readings after retries (their records hold back the shard)', () => {
    const alarm = stack().resources.RawDeliveryFailuresAlarm!.Properties;
    expect(alarm).toMatchObject({ MetricName: 'RawDeliveryFailures', Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarm.Dimensions).toEqual([{ Name: 'Service', Value: 'processor' }]);
  });
  it('alarms on the two latency SLOs at p99', () => {
    const { resources } = stack();
    expect(resources.EndToEndLatencyAlarm!.Properties).toMatchObject({ ExtendedStatistic: 'p99', Threshold: 10_000 });
    expect(resources.AlertLatencyAlarm!.Properties).toMatchObject({ ExtendedStatistic: 'p99', Threshold: 30_000 });
  });
  it('sends every alarm to the ops topic', () => {
    const alarms = Object.values(stack().resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThanOrEqual(16);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: 'OpsTopic' }]);
  });
  it('builds a dashboard whose body is valid JSON once substituted', () => {
    const body = template.Resources.Dashboard!.Properties.DashboardBody['Fn::Sub'] as string;
    const parsed = JSON.parse(body.replace(/\$\{[^}]+\}/g, 'x'));
    expect(parsed.widgets.length).toBeGreaterThanOrEqual(10);
    expect(body).toContain('ZoneCongestionIndex');
  });
});

describe('template Rules', () => {
  it('accepts the default thresholds', () => {
    expect(failingRules(template, required)).toEqual([]);
  });
  it('rejects a CRITICAL threshold that is not above WARNING, naming both', () => {
    expect(
      failingRules(template, { ...required, AlertThresholdCongestionIndex: '90', CriticalThresholdCongestionIndex: '90' }),
    ).toEqual(['CriticalThresholdCongestionIndex 90 must be above AlertThresholdCongestionIndex']);
    expect(
      failingRules(template, { ...required, AlertThresholdCongestionIndex: '85', CriticalThresholdCongestionIndex: '60' }),
    ).toHaveLength(1);
    expect(
      failingRules(template, { ...required, AlertThresholdCongestionIndex: '55', CriticalThresholdCongestionIndex: '60' }),
    ).toEqual([]);
  });
  it('refuses a throwaway prod environment', () => {
    expect(failingRules(template, { ...required, EnvironmentSuffix: 'prod', ThrowawayEnvironment: 'true' })).toEqual([
      "ThrowawayEnvironment must be 'false' when EnvironmentSuffix is prod",
    ]);
  });
});

describe('buildTemplate(config)', () => {
  it('takes parameter defaults from the config', () => {
    const config: StackConfig = { ...DEFAULTS, parameters: { ...DEFAULTS.parameters, kinesisShardCount: 80, processorReservedConcurrency: 200 } };
    expect((buildTemplate(config).Parameters.KinesisShardCount as { Default: number }).Default).toBe(80);
  });
});
