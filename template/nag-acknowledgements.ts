/**
 * Every finding of cdk-nag's AwsSolutions and NIST 800-53 R5 packs on templates/TapStack.yml that
 * is not fixed, with the reason: the one reviewed list. tests/template/nag.test.ts runs both packs
 * over the generated template (aws-cdk-lib/cloudformation-include, cdk-nag 3 as validation plugins),
 * acknowledges these through `Validations.of(resource).acknowledge()` and fails on any finding left,
 * and on any entry here that no longer matches a finding. docs/security.md lists them (npm run docs).
 *
 * To add one: the test's failure message prints the entry to paste (resource, finding, a reason to
 * write). `finding` is the pack's rule id, with the granular part in brackets where the rule reports
 * one (AwsSolutions-IAM5[Resource::...] names the wildcard resource it found). A reason says why the
 * finding is a deliberate choice (and what limits it) or why the rule misreads the template.
 */
import type { LogicalIdName } from './names';

export type AcknowledgementKind = 'deliberate' | 'false positive';

export interface Acknowledgement {
  /** Logical ID of the resource the finding is on. */
  resource: LogicalIdName;
  /** The rule id as the pack reports it, e.g. `AwsSolutions-SQS3` or `AwsSolutions-IAM5[Resource::*]`. */
  finding: string;
  kind: AcknowledgementKind;
  reason: string;
}

/** The resources a reason applies to, as one entry each. */
const each = (resources: LogicalIdName[], finding: string, kind: AcknowledgementKind, reason: string): Acknowledgement[] =>
  resources.map((resource) => ({ resource, finding, kind, reason }));

/** cdk-nag's form of `Fn::Sub ['${LogGroupArn}:*', { LogGroupArn: GetAtt <group>.Arn }]`: a role's own log group's streams. */
const logStreams = (group: LogicalIdName) =>
  `AwsSolutions-IAM5[Resource::["\${LogGroupArn}:*",{"LogGroupArn":{"Fn::GetAtt":["${group}","Arn"]}}]]`;
const LOG_STREAMS_REASON =
  'The log streams of its own log group (log-group:<name>:*): Lambda and Firehose name the streams as they write, so the ' +
  'stream part is a wildcard inside one log group (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html).';

const IOT = 'arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>';
const PROVISIONING_ROLES: LogicalIdName[] = ['SensorProvisioningRole', 'BulkRegistrationRole'];

export const NAG_ACKNOWLEDGEMENTS: readonly Acknowledgement[] = [
  // ── Wildcards IAM cannot narrow ────────────────────────────────────────────────────────────────
  { resource: 'TopicRuleRole', finding: logStreams('TopicRuleErrorLogGroup'), kind: 'deliberate', reason: LOG_STREAMS_REASON },
  { resource: 'ProcessorRole', finding: logStreams('ProcessorLogGroup'), kind: 'deliberate', reason: LOG_STREAMS_REASON },
  { resource: 'DeliveryRole', finding: logStreams('DeliveryLogGroup'), kind: 'deliberate', reason: LOG_STREAMS_REASON },
  { resource: 'HealthDetectorRole', finding: logStreams('HealthDetectorLogGroup'), kind: 'deliberate', reason: LOG_STREAMS_REASON },
  { resource: 'ConsoleApiRole', finding: logStreams('ConsoleApiLogGroup'), kind: 'deliberate', reason: LOG_STREAMS_REASON },
  ...(['raw', 'errors'] as const).map(
    (prefix): Acknowledgement => ({
      resource: 'DeliveryRole',
      finding: `AwsSolutions-IAM5[Resource::<RawDataBucket.Arn>/${prefix}/*]`,
      kind: 'deliberate',
      reason:
        `Firehose writes objects under ${prefix}/ whose keys it makes from the time (dt=/hour= partitions, its error types): ` +
        'the role is scoped to that prefix of the raw-data bucket, not to the bucket\'s registration files or Athena results.',
    }),
  ),
  {
    resource: 'HealthDetectorRole',
    finding: 'AwsSolutions-IAM5[Resource::*]',
    kind: 'deliberate',
    reason:
      'iot:ListThingGroups (the zones) has no resource type in the AWS IoT actions table, so IAM accepts only "*" ' +
      '(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsiot.html); a read-only listing, alone in its policy.',
  },
  {
    resource: 'ConsoleApiRole',
    finding: 'AwsSolutions-IAM5[Resource::*]',
    kind: 'deliberate',
    reason:
      'iot:ListThings (the sensors\' positions) and cloudwatch:GetMetricData (a zone\'s trend) have no resource type ' +
      '(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsiot.html, .../list_amazoncloudwatch.html), so IAM ' +
      'accepts only "*"; two read-only actions, alone in their policy.',
  },
  ...each(
    PROVISIONING_ROLES,
    'AwsSolutions-IAM5[Resource::*]',
    'deliberate',
    'iot:RegisterThing (and for bulk registration iot:CreateCertificateFromCsr, iot:RegisterCertificate) have no resource type ' +
      '(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsiot.html), so IAM accepts only "*"; alone in their policy.',
  ),
  ...each(
    PROVISIONING_ROLES,
    `AwsSolutions-IAM5[Resource::${IOT}:thing/*]`,
    'deliberate',
    'A provisioning run creates a thing named after a sensor that does not exist yet, so the thing ARN is a wildcard; the ' +
      'templates only create things (OverrideSettings FAIL for an existing one) and the role has no UpdateThing or Delete action.',
  ),
  ...each(
    PROVISIONING_ROLES,
    `AwsSolutions-IAM5[Resource::${IOT}:thinggroup/*]`,
    'deliberate',
    "A new sensor joins its zone's group, named by the city's zone ids; IAM cannot say \"a child of tapstack-zones\". The only " +
      "group that grants anything is the environment's sensor group, and its policy still requires this environment's thing type.",
  ),
  ...each(
    PROVISIONING_ROLES,
    `AwsSolutions-IAM5[Resource::${IOT}:cert/*]`,
    'deliberate',
    "A run activates and attaches the new device's certificate, whose id (a hash) is unknown until the device presents it; the " +
      'role attaches no policy (the sensor group carries it) and a template never touches an existing thing.',
  ),
  {
    resource: 'BulkRegistrationRole',
    finding: 'AwsSolutions-IAM5[Resource::["${BucketArn}/provisioning/${EnvironmentSuffix}/*",{"BucketArn":{"Fn::GetAtt":["RawDataBucket","Arn"]}}]]',
    kind: 'deliberate',
    reason: 'The registration files of this environment (provisioning/<env>/<time>.jsonl, one per npm run provision): read only (s3:GetObject).',
  },

  // ── Deliberate choices ─────────────────────────────────────────────────────────────────────────
  {
    resource: 'ReadingsStream',
    finding: 'AwsSolutions-KDS3',
    kind: 'deliberate',
    reason:
      'The stream is encrypted with the stack\'s customer-managed key, not the AWS-managed aws/kinesis key: one key for every store, ' +
      'rotated, whose policy names who may use it (DESIGN.md, Security).',
  },
  ...each(
    ['ProcessorFunction', 'HealthDetectorFunction', 'ConsoleApiFunction'],
    'AwsSolutions-L1',
    'deliberate',
    'nodejs24.x is the runtime the bundle is built for (esbuild node24) and tested on (node@24): supported to 2028 ' +
      '(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html). aws-cdk-lib also lists nodejs26.x; moving is a tested change, not a template edit.',
  ),
  {
    resource: 'QuarantineQueue',
    finding: 'AwsSolutions-SQS3',
    kind: 'deliberate',
    reason:
      'The quarantine is the last stop of invalid readings, read whole by npm run quarantine and npm run redrive: a redrive policy ' +
      'would move readings to yet another queue each time those tools had read them maxReceiveCount times.',
  },
  ...each(
    ['TopicRuleRole', 'DeliveryRole', 'ProcessorRole', 'HealthDetectorRole', 'HealthDetectorScheduleRole', 'SensorProvisioningRole', 'BulkRegistrationRole', 'ConsoleApiRole'],
    'NIST.800.53.R5-IAMNoInlinePolicy',
    'deliberate',
    'Each role has its own policy, written for it and scoped to this stack\'s resources; inline, it lives and dies with its role ' +
      'and cannot be attached to another principal by mistake. A managed policy per role would grant exactly the same.',
  ),
  ...each(
    ['ReadingsTable', 'AlertStateTable', 'SensorHealthTable'],
    'NIST.800.53.R5-DynamoDBInBackupPlan',
    'deliberate',
    'Point-in-time recovery is on (35 days, to the second), deletion protection is on and the tables are retained with the stack ' +
      'outside throwaway environments; every raw reading is also kept in S3. An AWS Backup plan (vault, copies, retention) is the ' +
      "account's backup policy, not this stack's.",
  ),
  {
    resource: 'SensorStatusTable',
    finding: 'NIST.800.53.R5-DynamoDBInBackupPlan',
    kind: 'deliberate',
    reason:
      "The console's read model: every sensor's latest reading, rewritten by the processor with each batch, so it is whole again " +
      'seconds after any loss; point-in-time recovery and deletion protection are on like the other tables.',
  },
  ...each(
    ['ConsoleBucket', 'ConsoleLogsBucket'],
    'NIST.800.53.R5-S3BucketReplicationEnabled',
    'deliberate',
    "The console's build (npm run deploy uploads it again from the repository) and its access logs: versioned, retained outside " +
      'throwaway environments; one Region by design, like the lake.',
  ),
  ...each(
    ['RawDataBucket', 'AccessLogBucket'],
    'NIST.800.53.R5-S3BucketReplicationEnabled',
    'deliberate',
    'One Region by design; versioning, object lifecycle and retention on stack deletion protect against loss there. Cross-Region ' +
      'replication doubles the lake\'s storage and is the city\'s disaster-recovery decision, made per account.',
  ),
  {
    resource: 'AccessLogBucket',
    finding: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
    kind: 'deliberate',
    reason:
      'Server access logs can be delivered only to a bucket whose default encryption is SSE-S3, not SSE-KMS ' +
      '(https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).',
  },
  {
    resource: 'ConsoleLogsBucket',
    finding: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
    kind: 'deliberate',
    reason:
      "It receives the console bucket's server access logs, which S3 delivers only to a bucket encrypted with SSE-S3 " +
      '(https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html), and CloudFront\'s standard logs.',
  },
  {
    resource: 'ConsoleDistribution',
    finding: 'AwsSolutions-CFR1',
    kind: 'deliberate',
    reason:
      "The console is for the city's controllers, who sign in (Cognito, MFA on by default); which countries to block is the " +
      "city's policy, applied with its AWS WAF web ACL (ConsoleWebAclArn), not a list fixed in the template.",
  },

  {
    resource: 'ConsoleDistribution',
    finding: 'AwsSolutions-CFR4',
    kind: 'deliberate',
    reason:
      'With ConsoleDomainName and its ACM certificate the minimum is TLSv1.2_2021; the default *.cloudfront.net certificate cannot ' +
      'set a minimum (CloudFront fixes it at TLSv1), so docs/console.md says to use a custom domain in production.',
  },
  {
    resource: 'ConsoleUserPool',
    finding: 'AwsSolutions-COG8',
    kind: 'deliberate',
    reason:
      'The Lite plan: users are created by administrators only (no sign-up), passwords of 14+ characters with every class, TOTP ' +
      "MFA on by default. Plus adds threat protection (compromised credentials, adaptive authentication) at a per-user price; the " +
      "city may choose it, but the pool's few dozen admin-made accounts do not need it to be safe.",
  },
  ...each(
    ['ProcessorFunction', 'HealthDetectorFunction', 'ConsoleApiFunction'],
    'NIST.800.53.R5-LambdaInsideVPC',
    'deliberate',
    'The functions reach only AWS APIs (DynamoDB, SQS, EventBridge, Firehose, IoT), over TLS with their roles; no VPC resource. A ' +
      'VPC would add NAT or one interface endpoint per service per zone, and cold-start time, for no data path it protects.',
  ),

  // ── The rule misreads the template ─────────────────────────────────────────────────────────────
  ...each(
    ['ProcessorDeadLetterQueue', 'AlertDeliveryDeadLetterQueue', 'HealthDetectorDeadLetterQueue'],
    'AwsSolutions-SQS3',
    'false positive',
    'This queue is itself a dead-letter queue (of the Kinesis event source mapping, of the EventBridge rule targets, of the ' +
      "detector's async invocations); SQS3 recognises only a queue named in another queue's RedrivePolicy.",
  ),
  {
    resource: 'ConsoleUserPool',
    finding: 'AwsSolutions-COG2',
    kind: 'false positive',
    reason:
      'MfaConfiguration comes from the ConsoleMfa parameter (ON by default, with TOTP); the rule cannot evaluate a Ref and reports an error.',
  },
  {
    resource: 'ConsoleApiFunction',
    finding: 'NIST.800.53.R5-LambdaDLQ',
    kind: 'false positive',
    reason:
      'API Gateway invokes the function synchronously and gets its error; a dead-letter queue only ever receives failed asynchronous ' +
      'invocations (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).',
  },
  {
    resource: 'ProcessorFunction',
    finding: 'NIST.800.53.R5-LambdaConcurrency',
    kind: 'false positive',
    reason:
      'ReservedConcurrentExecutions is set, from the ProcessorReservedConcurrency parameter (150 by default); the rule accepts only a literal number.',
  },
  ...each(
    ['ProcessorFunction', 'HealthDetectorFunction'],
    'NIST.800.53.R5-LambdaDLQ',
    'false positive',
    'Failures go to on-failure destinations (the event source mapping\'s DestinationConfig; the detector\'s EventInvokeConfig), ' +
      'which Lambda recommends over a function DLQ and which carry the failure\'s context; the rule looks only for DeadLetterConfig ' +
      '(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).',
  ),
];
