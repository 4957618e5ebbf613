import { describe, expect, it } from 'vitest';
import type { PolicyStatement } from '../../template/iam';
import { UNSCOPED_PROVISIONING_POLICY } from '../../template/layers/provisioning';
import { UNSCOPED_DETECTOR_POLICY } from '../../template/layers/health';
import { UNSCOPED_CONSOLE_POLICY } from '../../template/layers/console';
import { LogicalId } from '../../template/names';
import { committedTemplate, resourcesOfType } from '../helpers/template';

const template = committedTemplate();
const KEY_ARN = { 'Fn::GetAtt': [LogicalId.EncryptionKey, 'Arn'] };

/**
 * The only places a `*` may stand in an Allow statement, each with its reason. A key policy's
 * `Resource: "*"` means the key itself (AWS KMS key policy semantics).
 */
const WILDCARD_EXCEPTIONS: Record<string, string> = {
  'EncryptionKey.KeyPolicy': 'in a key policy, Resource "*" is the key the policy is attached to',
  [`SensorProvisioningRole.Policies.${UNSCOPED_PROVISIONING_POLICY}`]:
    'iot:RegisterThing has no resource type (AWS IoT IAM actions table), so IAM accepts only "*"',
  [`BulkRegistrationRole.Policies.${UNSCOPED_PROVISIONING_POLICY}`]:
    'iot:RegisterThing, iot:CreateCertificateFromCsr and iot:RegisterCertificate have no resource type, so IAM accepts only "*"',
  [`HealthDetectorRole.Policies.${UNSCOPED_DETECTOR_POLICY}`]: 'iot:ListThingGroups has no resource type, so IAM accepts only "*"',
  [`ConsoleApiRole.Policies.${UNSCOPED_CONSOLE_POLICY}`]: 'iot:ListThings and cloudwatch:GetMetricData have no resource type, so IAM accepts only "*"',
};

/** Every policy document of the template, with where it is. */
function policyDocuments(): [string, { Statement: PolicyStatement[] }][] {
  const docs: [string, { Statement: PolicyStatement[] }][] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    const p = r.Properties;
    if (r.Type === 'AWS::IAM::Role') {
      for (const policy of p.Policies ?? []) docs.push([`${id}.Policies.${policy.PolicyName}`, policy.PolicyDocument]);
    }
    if (r.Type === 'AWS::KMS::Key') docs.push([`${id}.KeyPolicy`, p.KeyPolicy]);
    if (p.PolicyDocument) docs.push([`${id}.PolicyDocument`, p.PolicyDocument]);
  }
  return docs;
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe('least privilege', () => {
  it('grants no "*" action or resource outside the listed exceptions', () => {
    const violations: string[] = [];
    for (const [where, doc] of policyDocuments()) {
      for (const s of doc.Statement.filter((st) => st.Effect === 'Allow')) {
        const wildAction = asList(s.Action).some((a) => typeof a === 'string' && a.includes('*'));
        const wildResource = asList(s.Resource).some((r) => r === '*');
        if ((wildAction || wildResource) && !(where in WILDCARD_EXCEPTIONS)) violations.push(`${where}:${s.Sid ?? '?'}`);
        if (wildAction) violations.push(`${where}:${s.Sid ?? '?'} has a wildcard action`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('gives every role its own trust policy for one service', () => {
    const roles = resourcesOfType(template, 'AWS::IAM::Role');
    expect(roles.map(([id]) => id).sort()).toEqual([
      'BulkRegistrationRole',
      'ConsoleApiRole',
      'DeliveryRole',
      'HealthDetectorRole',
      'HealthDetectorScheduleRole',
      'ProcessorRole',
      'SensorProvisioningRole',
      'TopicRuleRole',
    ]);
    for (const [, role] of roles) {
      const [statement, ...rest] = role.Properties.AssumeRolePolicyDocument.Statement;
      expect(rest).toEqual([]);
      expect(Object.keys(statement.Principal)).toEqual(['Service']);
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('key policy lets account principals use the key only through the stack services', () => {
    const statements: PolicyStatement[] = template.Resources.EncryptionKey!.Properties.KeyPolicy.Statement;
    const use = statements.find((s) => s.Sid === 'AccountUsesKeyOnlyThroughStackServices')!;
    expect(use.Condition?.StringEquals?.['kms:ViaService']).toHaveLength(6);
    const admin = statements.find((s) => s.Sid === 'AccountAdministersKeyThroughIam')!;
    expect(asList(admin.Action)).not.toContain('kms:Decrypt');
    for (const s of statements.filter((st) => typeof st.Principal === 'object' && 'Service' in (st.Principal as object))) {
      expect(s.Condition, `${s.Sid} needs a condition`).toBeDefined();
    }
    expect(template.Resources.EncryptionKey!.Properties.EnableKeyRotation).toBe(true);
  });

  it('key policy allows a grant only for an AWS service acting on a resource (kms:GrantIsForAWSResource)', () => {
    const statements: PolicyStatement[] = template.Resources.EncryptionKey!.Properties.KeyPolicy.Statement;
    const granting = statements.filter((s) => asList(s.Action).includes('kms:CreateGrant'));
    expect(granting.map((s) => s.Sid)).toEqual(['AccountGrantsKeyOnlyToAwsServicesForItsResources', 'StackServicesCreateGrantsForTheirResources']);
    for (const s of granting) expect(s.Condition?.Bool).toEqual({ 'kms:GrantIsForAWSResource': 'true' });
  });

  it('key policy names the stack\'s own resources as the source of every service principal: its log groups, its rules, its alarms', () => {
    const statements: PolicyStatement[] = template.Resources.EncryptionKey!.Properties.KeyPolicy.Statement;
    const bySid = (sid: string) => statements.find((s) => s.Sid === sid)!;
    expect(bySid('CloudWatchLogsEncryptsStackLogGroups').Condition).toEqual({
      ArnLike: {
        'kms:EncryptionContext:aws:logs:arn': [
          { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/tapstack/${EnvironmentSuffix}/*' },
          { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/tapstack-${EnvironmentSuffix}-*' },
        ],
      },
    });
    // Every log group of the stack is under one of those names.
    for (const [id, group] of resourcesOfType(template, 'AWS::Logs::LogGroup')) {
      expect(group.Properties.LogGroupName['Fn::Sub'], id).toMatch(/^(\/tapstack\/\$\{EnvironmentSuffix\}\/|\/aws\/lambda\/tapstack-\$\{EnvironmentSuffix\}-)/);
    }
    expect(bySid('EventBridgeDeliversToEncryptedTopicAndQueue').Condition?.ArnLike).toEqual({
      'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/tapstack-${EnvironmentSuffix}-traffic/*' },
    });
    expect(bySid('CloudWatchAlarmsPublishToEncryptedOpsTopic').Condition?.ArnLike).toEqual({
      'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:tapstack-${EnvironmentSuffix}-*' },
    });
  });

  it('lets EventBridge Scheduler assume its role only for this account\'s default schedule group', () => {
    const [trust] = template.Resources.HealthDetectorScheduleRole!.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnEquals: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule-group/default' } },
    });
  });

  it('lets Firehose write only its own prefixes of the raw-data bucket (raw/ and errors/)', () => {
    const statements: PolicyStatement[] = template.Resources.DeliveryRole!.Properties.Policies[0].PolicyDocument.Statement;
    const onObjects = statements.filter((s) => asList(s.Action).includes('s3:PutObject'));
    expect(onObjects.flatMap((s) => asList(s.Resource))).toEqual([{ 'Fn::Sub': '${RawDataBucket.Arn}/raw/*' }, { 'Fn::Sub': '${RawDataBucket.Arn}/errors/*' }]);
    expect(template.Resources.DeliveryStream!.Properties.ExtendedS3DestinationConfiguration.ErrorOutputPrefix).toMatch(/^errors\//);
  });

  it('lets the processor only put record batches to the delivery stream, and Firehose read no stream', () => {
    const statements: PolicyStatement[] = template.Resources.ProcessorRole!.Properties.Policies.flatMap(
      (p: { PolicyDocument: { Statement: PolicyStatement[] } }) => p.PolicyDocument.Statement,
    );
    const onDelivery = statements.filter((s) => JSON.stringify(s.Resource).includes(LogicalId.DeliveryStream));
    expect(onDelivery).toEqual([
      { Sid: 'DeliverRawReadings', Effect: 'Allow', Action: ['firehose:PutRecordBatch'], Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:firehose:${AWS::Region}:${AWS::AccountId}:deliverystream/${DeliveryStream}' } },
    ]);
    expect(statements.flatMap((s) => asList(s.Action)).filter((a) => String(a).startsWith('firehose:'))).toEqual(['firehose:PutRecordBatch']);
    const delivery = template.Resources.DeliveryRole!.Properties.Policies[0].PolicyDocument.Statement as PolicyStatement[];
    expect(delivery.flatMap((s) => asList(s.Action)).filter((a) => String(a).startsWith('kinesis:'))).toEqual([]);
    expect(JSON.stringify(delivery)).not.toContain(LogicalId.ReadingsStream);
    const stream = template.Resources.DeliveryStream!.Properties;
    expect(stream.DeliveryStreamType).toBe('DirectPut');
    expect(stream.KinesisStreamSourceConfiguration).toBeUndefined();
  });

  it('lets a sensor connect only as its own thing, of this environment\'s sensor type, and publish only to its own topic', () => {
    const statements: PolicyStatement[] = template.Resources.SensorPolicy!.Properties.PolicyDocument.Statement;
    expect(statements.map((s) => s.Action)).toEqual([['iot:Connect'], ['iot:Publish']]);
    for (const s of statements) {
      expect(s.Condition, s.Sid).toEqual({
        Bool: { 'iot:Connection.Thing.IsAttached': 'true' },
        StringEquals: { 'iot:Connection.Thing.ThingTypeName': { Ref: 'SensorThingType' } },
      });
    }
    expect(JSON.stringify(statements[0]!.Resource)).toContain('client/${!iot:Connection.Thing.ThingName}');
    expect(JSON.stringify(statements[1]!.Resource)).toContain(
      'topic/$aws/rules/tapstack_${EnvironmentSuffix}_sensor_readings/tapstack/${EnvironmentSuffix}/sensors/${!iot:Connection.Thing.ThingName}',
    );
  });
});

describe('encryption with the stack key', () => {
  const cases: [string, (p: Record<string, any>) => unknown][] = [
    ['AWS::Kinesis::Stream', (p) => p.StreamEncryption.KeyId],
    ['AWS::DynamoDB::Table', (p) => p.SSESpecification.KMSMasterKeyId],
    ['AWS::SQS::Queue', (p) => p.KmsMasterKeyId],
    ['AWS::SNS::Topic', (p) => p.KmsMasterKeyId],
    ['AWS::Logs::LogGroup', (p) => p.KmsKeyId],
    ['AWS::S3::Bucket', (p) => p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID],
    ['AWS::KinesisFirehose::DeliveryStream', (p) => p.ExtendedS3DestinationConfiguration.EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN],
    // Direct PUT: the records Firehose buffers are encrypted with the key too (a Kinesis source was encrypted by the stream).
    ['AWS::KinesisFirehose::DeliveryStream', (p) => p.DeliveryStreamEncryptionConfigurationInput.KeyARN],
    ['AWS::Athena::WorkGroup', (p) => p.WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration.KmsKey],
  ];
  /**
   * Server access logs and CloudFront's standard logs can be delivered only to SSE-S3 buckets
   * (template/layers/analytics.ts accessLogBucket, template/layers/console.ts).
   */
  const SSE_S3_ONLY = new Set(['AccessLogBucket', 'ConsoleLogsBucket']);
  it.each(cases)('every %s names the customer-managed key', (type, keyOf) => {
    const found = resourcesOfType(template, type).filter(([id]) => !SSE_S3_ONLY.has(id));
    expect(found.length).toBeGreaterThan(0);
    for (const [id, r] of found) expect(keyOf(r.Properties), id).toEqual(KEY_ARN);
  });

  it('encrypts the access-log bucket with SSE-S3, the only encryption S3 delivers server access logs to', () => {
    const sse = template.Resources.AccessLogBucket!.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault;
    expect(sse).toEqual({ SSEAlgorithm: 'AES256' });
  });
});

describe('TLS-only resource policies', () => {
  const denies = (doc: { Statement: PolicyStatement[] }) =>
    doc.Statement.some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false');
  const protectedBy = (policyType: string, listKey: string) =>
    new Set(
      resourcesOfType(template, policyType)
        .filter(([, r]) => denies(r.Properties.PolicyDocument))
        .flatMap(([, r]) => asList(r.Properties[listKey]).map((ref) => (ref as { Ref: string }).Ref)),
    );
  it.each([
    ['AWS::SQS::Queue', 'AWS::SQS::QueuePolicy', 'Queues'],
    ['AWS::SNS::Topic', 'AWS::SNS::TopicPolicy', 'Topics'],
    ['AWS::S3::Bucket', 'AWS::S3::BucketPolicy', 'Bucket'],
  ])('every %s denies requests without TLS', (type, policyType, listKey) => {
    const covered = protectedBy(policyType, listKey);
    for (const [id] of resourcesOfType(template, type)) expect(covered.has(id), id).toBe(true);
  });

  it.each(['RawDataBucket', 'AccessLogBucket'])('blocks all public access to %s and keeps versions', (id) => {
    const p = template.Resources[id]!.Properties;
    expect(Object.values(p.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
    expect(p.VersioningConfiguration.Status).toBe('Enabled');
    expect(p.LifecycleConfiguration.Rules.length).toBeGreaterThan(0);
  });

  it('logs every request to the raw-data bucket, and lets only S3 logging for that bucket write the logs', () => {
    expect(template.Resources.RawDataBucket!.Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: 'AccessLogBucket' }, LogFilePrefix: 'raw-data-bucket/' });
    const [allowLogs] = template.Resources.AccessLogBucketPolicy!.Properties.PolicyDocument.Statement;
    expect(allowLogs).toMatchObject({ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' });
    expect(allowLogs.Condition.ArnLike['aws:SourceArn']).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:s3:::tapstack-${EnvironmentSuffix}-raw-${AWS::AccountId}-${AWS::Region}',
    });
    expect(template.Resources.RawDataBucket!.Properties.BucketName).toEqual({ 'Fn::Sub': 'tapstack-${EnvironmentSuffix}-raw-${AWS::AccountId}-${AWS::Region}' });
  });

  it('keeps every log group with the stack\'s data unless the environment is a throwaway one (cfn-lint I3011)', () => {
    const retain = { 'Fn::If': ['IsThrowaway', 'Delete', 'Retain'] };
    for (const [id, group] of resourcesOfType(template, 'AWS::Logs::LogGroup')) {
      expect(group.DeletionPolicy, id).toEqual(retain);
      expect(group.UpdateReplacePolicy, id).toEqual(retain);
    }
  });

  it('lets only the alert rule publish to the alerts topic', () => {
    const [allowStatement] = template.Resources.AlertsTopicPolicy!.Properties.PolicyDocument.Statement;
    expect(allowStatement.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(allowStatement.Condition.ArnEquals['aws:SourceArn']).toEqual({ 'Fn::GetAtt': ['CongestionAlertRule', 'Arn'] });
  });

  it('denies publishing to the topics to every principal of the account but AWS services (and, for alerts, the operator role)', () => {
    const denyOf = (id: string) =>
      template.Resources[id]!.Properties.PolicyDocument.Statement.find((s: { Sid: string }) => s.Sid === 'OnlyTheStackPublishes');
    const notAService = { Bool: { 'aws:PrincipalIsAWSService': 'false' } };
    expect(denyOf('OpsTopicPolicy')).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Condition: notAService });
    expect(denyOf('AlertsTopicPolicy')).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 'sns:Publish' });
    expect(denyOf('AlertsTopicPolicy').Condition).toEqual({
      'Fn::If': [
        'HasOperatorRole',
        { ...notAService, ArnNotLike: { 'aws:PrincipalArn': { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${OperatorRoleName}' } } },
        notAService,
      ],
    });
  });

  it('denies putting records on the readings stream to every principal but the topic rule (and the operator role, for redrives)', () => {
    const policy = template.Resources.ReadingsStreamPolicy!.Properties;
    expect(policy.ResourceArn).toEqual({ 'Fn::GetAtt': ['ReadingsStream', 'Arn'] });
    expect(policy.ResourcePolicy.Statement).toEqual([
      {
        Sid: 'OnlyTheTopicRulePutsRecords',
        Effect: 'Deny',
        Principal: '*',
        Action: ['kinesis:PutRecord', 'kinesis:PutRecords'],
        Resource: { 'Fn::GetAtt': ['ReadingsStream', 'Arn'] },
        Condition: {
          ArnNotEquals: {
            'aws:PrincipalArn': {
              'Fn::If': [
                'HasOperatorRole',
                [{ 'Fn::GetAtt': ['TopicRuleRole', 'Arn'] }, { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${OperatorRoleName}' }],
                [{ 'Fn::GetAtt': ['TopicRuleRole', 'Arn'] }],
              ],
            },
          },
        },
      },
    ]);
  });

  it('denies putting events on the alert bus to every principal but the processor and the detector', () => {
    const policy = template.Resources.AlertBusPolicy!.Properties;
    expect(policy.EventBusName).toEqual({ 'Fn::GetAtt': ['AlertBus', 'Name'] });
    expect(policy.Statement).toMatchObject({
      Effect: 'Deny',
      Principal: '*',
      Action: 'events:PutEvents',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': ['ProcessorRole', 'Arn'] }, { 'Fn::GetAtt': ['HealthDetectorRole', 'Arn'] }] } },
    });
  });

  it('lets only the stack alarms and the sensor-health rule publish to the ops topic, and only the two rules dead-letter', () => {
    const statements = template.Resources.OpsTopicPolicy!.Properties.PolicyDocument.Statement;
    const allowed = statements.filter((s: { Effect: string }) => s.Effect === 'Allow');
    expect(allowed.map((s: { Principal: unknown }) => s.Principal)).toEqual([{ Service: 'cloudwatch.amazonaws.com' }, { Service: 'events.amazonaws.com' }]);
    expect(allowed[1].Condition.ArnEquals['aws:SourceArn']).toEqual({ 'Fn::GetAtt': ['SensorHealthRule', 'Arn'] });
    const [dlq] = template.Resources.AlertDeliveryDeadLetterQueuePolicy!.Properties.PolicyDocument.Statement;
    expect(dlq.Condition.ArnEquals['aws:SourceArn']).toEqual([
      { 'Fn::GetAtt': ['CongestionAlertRule', 'Arn'] },
      { 'Fn::GetAtt': ['SensorHealthRule', 'Arn'] },
    ]);
  });
});
