import { describe, expect, it } from 'vitest';
import { DETECTOR_RESOURCES, DETECTOR_SETTINGS, HEALTH_METRIC, HEALTH_TABLE, READINGS_TABLE } from '../../contract';
import { buildTemplate } from '../../template/index';
import { UNSCOPED_DETECTOR_POLICY } from '../../template/layers/health';

const resources = buildTemplate().Resources;
const statements = (roleId: string, policyName?: string) =>
  (resources[roleId]!.Properties.Policies as { PolicyName: string; PolicyDocument: { Statement: { Sid: string; Action: string[]; Resource: unknown }[] } }[])
    .filter((p) => policyName === undefined || p.PolicyName === policyName)
    .flatMap((p) => p.PolicyDocument.Statement);

describe('buildHealth', () => {
  it('sends Sensor Silent and Sensor Recovered events to the ops topic as sentences, with retries and a dead-letter queue', () => {
    const rule = resources.SensorHealthRule!.Properties;
    expect(rule.EventPattern).toEqual({ source: ['tapstack.health'] });
    expect(rule.EventBusName).toEqual({ 'Fn::GetAtt': ['AlertBus', 'Name'] });
    const [target] = rule.Targets;
    expect(target.Arn).toEqual({ Ref: 'OpsTopic' });
    expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': ['AlertDeliveryDeadLetterQueue', 'Arn'] });
    // Every placeholder of the sentence is a field the detector's events carry.
    const placeholders = [...target.InputTransformer.InputTemplate.matchAll(/<(\w+)>/g)].map((m) => m[1]);
    expect(Object.keys(target.InputTransformer.InputPathsMap).sort()).toEqual([...new Set(placeholders)].sort());
    for (const path of Object.values(target.InputTransformer.InputPathsMap) as string[]) {
      expect(['state', 'sensor_id', 'zone_id', 'last_seen_at', 'silent_after_seconds', 'event_id']).toContain(path.replace('$.detail.', ''));
    }
  });

  it('runs the detector every minute through EventBridge Scheduler, with a bounded retry and a dead-letter queue', () => {
    const schedule = resources.HealthDetectorSchedule!;
    expect(schedule.Type).toBe('AWS::Scheduler::Schedule');
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': ['HealthDetectorFunction', 'Arn'] },
        RoleArn: { 'Fn::GetAtt': ['HealthDetectorScheduleRole', 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['HealthDetectorDeadLetterQueue', 'Arn'] } },
      },
    });
    expect(resources.HealthDetectorInvokeConfig!.Properties).toMatchObject({
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['HealthDetectorDeadLetterQueue', 'Arn'] } } },
    });
  });

  it('ships the detector in the processor bundle as index.detector, with every variable of its contract', () => {
    const fn = resources.HealthDetectorFunction!.Properties;
    expect(fn.Handler).toBe('index.detector');
    expect(fn.Code).toEqual(resources.ProcessorFunction!.Properties.Code);
    expect(fn.LoggingConfig.LogGroup).toEqual({ Ref: 'HealthDetectorLogGroup' });
    const names = [...Object.values(DETECTOR_RESOURCES), ...Object.values(DETECTOR_SETTINGS)].map((b) => b.env);
    expect(Object.keys(fn.Environment.Variables).filter((k) => k !== 'NODE_OPTIONS').sort()).toEqual([...names].sort());
    expect(fn.Environment.Variables.SILENT_SENSOR_PERIODS).toEqual({ Ref: 'SilentSensorPeriods' });
  });

  it('lets the detector only read the readings table, write only the health table, and list zone groups', () => {
    const actions = statements('HealthDetectorRole', 'health-detector').flatMap((s) => s.Action);
    expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:Query', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem']);
    const byReadings = statements('HealthDetectorRole', 'health-detector').filter((s) => JSON.stringify(s.Resource).includes('ReadingsTable'));
    expect(byReadings.flatMap((s) => s.Action)).toEqual(['dynamodb:Query', 'dynamodb:Query']);
    expect(JSON.stringify(byReadings[0]!.Resource)).toContain(`/index/${READINGS_TABLE.zoneIndexName}`);
    expect(statements('HealthDetectorRole', UNSCOPED_DETECTOR_POLICY)).toEqual([
      { Sid: 'ListZoneGroups', Effect: 'Allow', Action: ['iot:ListThingGroups'], Resource: '*' },
    ]);
    expect(statements('HealthDetectorScheduleRole').find((s) => s.Sid === 'RunDetector')).toMatchObject({
      Action: ['lambda:InvokeFunction'],
      Resource: { 'Fn::GetAtt': ['HealthDetectorFunction', 'Arn'] },
    });
  });

  it('keeps health on demand, forgetting items by TTL', () => {
    expect(resources.SensorHealthTable!.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: HEALTH_TABLE.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: HEALTH_TABLE.ttl, Enabled: true },
    });
  });

  it("alarms when a zone's reporting share falls below MinimumReportingSharePercent", () => {
    expect(resources.ZoneReportingShareAlarm!.Properties).toMatchObject({
      MetricName: HEALTH_METRIC.lowestZoneReportingSharePercent,
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: { Ref: 'MinimumReportingSharePercent' },
      Dimensions: [{ Name: 'Service', Value: 'detector' }],
    });
  });
});
