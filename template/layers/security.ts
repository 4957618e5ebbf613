/** One customer-managed KMS key for every data store, queue, topic, stream and log group. */
import { KMS } from 'cloudform-types';
import { retainUnlessThrowaway } from '../defaults';
import { arn, policyDocument, type PolicyStatement } from '../iam';
import { exported, type Layer } from '../layer';
import { accountId, arnOf, ref, sub } from '../intrinsics';
import { LogicalId, physicalNamePattern } from '../names';
import { ALERT_BUS_BASE_NAME } from './alerting';

/** Services that use the key on a caller's behalf (kms:ViaService) when the caller's role allows it. */
const VIA_SERVICES = ['sns', 'sqs', 'dynamodb', 'kinesis', 'firehose', 's3'] as const;
const viaStackServices = () => ({
  'kms:CallerAccount': accountId,
  'kms:ViaService': VIA_SERVICES.map((s) => sub(`${s}.\${AWS::Region}.amazonaws.com`)),
});

const ACCOUNT_ROOT = { AWS: sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root') };

/** Key management, without data-plane use: account IAM policies may grant these to administrators. */
const ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListAliases',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RetireGrant',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

const DATA_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'];

/**
 * The log groups of the stack (template/defaults.ts logGroup): under `/tapstack/<env>/` and its functions'
 * `/aws/lambda/tapstack-<env>-…`. CloudWatch Logs uses the key only for these.
 */
const STACK_LOG_GROUPS = ['/tapstack/${EnvironmentSuffix}/*', '/aws/lambda/tapstack-${EnvironmentSuffix}-*'];

/**
 * The key policy. In a key policy `Resource: "*"` means this key. Account principals may manage
 * the key through IAM, and use it only through the listed services; a grant (which would hand the
 * key's use to another principal) only for an AWS service acting on a resource
 * (kms:GrantIsForAWSResource: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
 * AWS service principals that act on their own (CloudWatch Logs, EventBridge, CloudWatch alarms)
 * are named with the stack's own resources as their source (aws:SourceArn, or the log group ARN
 * in the encryption context).
 */
export function keyPolicyStatements(): PolicyStatement[] {
  return [
    {
      Sid: 'AccountAdministersKeyThroughIam',
      Effect: 'Allow',
      Principal: ACCOUNT_ROOT,
      Action: ADMIN_ACTIONS,
      Resource: '*',
    },
    {
      Sid: 'AccountGrantsKeyOnlyToAwsServicesForItsResources',
      Effect: 'Allow',
      Principal: ACCOUNT_ROOT,
      Action: ['kms:CreateGrant'],
      Resource: '*',
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    },
    {
      Sid: 'AccountUsesKeyOnlyThroughStackServices',
      Effect: 'Allow',
      Principal: ACCOUNT_ROOT,
      Action: [...DATA_ACTIONS, 'kms:DescribeKey'],
      Resource: '*',
      Condition: { StringEquals: viaStackServices() },
    },
    {
      // Firehose encrypts its buffer with the key through a grant it creates (DeliveryStreamEncryptionConfigurationInput).
      Sid: 'StackServicesCreateGrantsForTheirResources',
      Effect: 'Allow',
      Principal: ACCOUNT_ROOT,
      Action: ['kms:CreateGrant'],
      Resource: '*',
      Condition: { StringEquals: viaStackServices(), Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    },
    {
      Sid: 'CloudWatchLogsEncryptsStackLogGroups',
      Effect: 'Allow',
      Principal: { Service: sub('logs.${AWS::Region}.amazonaws.com') },
      Action: [...DATA_ACTIONS, 'kms:DescribeKey'],
      Resource: '*',
      Condition: {
        // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html (the encryption context condition)
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': STACK_LOG_GROUPS.map((g) =>
            sub(`arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${g}`),
          ),
        },
      },
    },
    // The stack's rules on its bus (a rule of a custom bus: rule/<bus name>/<rule name>).
    serviceUsesKeyFrom('EventBridgeDeliversToEncryptedTopicAndQueue', 'events.amazonaws.com', ['kms:Decrypt', 'kms:GenerateDataKey'], arn('events', `rule/${physicalNamePattern(ALERT_BUS_BASE_NAME)}/*`)),
    serviceUsesKeyFrom('CloudWatchAlarmsPublishToEncryptedOpsTopic', 'cloudwatch.amazonaws.com', ['kms:Decrypt', 'kms:GenerateDataKey'], arn('cloudwatch', `alarm:${physicalNamePattern('*')}`)),
    // The console's bucket is SSE-KMS; CloudFront reads it through origin access control
    // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html).
    // The account's distributions, not the one distribution: naming it here would make the key
    // depend on the distribution, which depends on the bucket, which depends on the key. The
    // bucket policy admits only the console's distribution.
    serviceUsesKeyFrom('CloudFrontReadsConsoleAssets', 'cloudfront.amazonaws.com', ['kms:Decrypt'], sub('arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*')),
  ];
}

/** An AWS service's use of the key on behalf of this account's resources matching `sourceArn` only (the confused-deputy conditions). */
const serviceUsesKeyFrom = (sid: string, service: string, actions: string[], sourceArn: unknown): PolicyStatement => ({
  Sid: sid,
  Effect: 'Allow',
  Principal: { Service: service },
  Action: actions,
  Resource: '*',
  Condition: {
    StringEquals: { 'aws:SourceAccount': accountId },
    ArnLike: { 'aws:SourceArn': sourceArn },
  },
});

/** The stack's customer-managed key (rotation on) and its alias. Takes no configuration. */
export function buildSecurity(): Layer {
  const key = new KMS.Key({
    Description: sub('TapStack ${EnvironmentSuffix}: encrypts streams, tables, queues, topics, objects and logs'),
    EnableKeyRotation: true,
    KeySpec: 'SYMMETRIC_DEFAULT',
    KeyUsage: 'ENCRYPT_DECRYPT',
    PendingWindowInDays: 30,
    KeyPolicy: policyDocument(...keyPolicyStatements()),
    // No resource-level Tags: moto 5.2 fails CreateStack on KMS key tags (TagKey/Key mix-up), so the
    // key gets Project/Environment from the stack-level tags that `npm run deploy` passes.
  });
  // The key lives as long as the data it protects.
  retainUnlessThrowaway(key);
  const alias = new KMS.Alias({
    AliasName: sub('alias/tapstack-${EnvironmentSuffix}'),
    TargetKeyId: ref(LogicalId.EncryptionKey),
  });
  return {
    resources: { EncryptionKey: key, EncryptionKeyAlias: alias },
    outputs: {
      EncryptionKeyArn: exported('The customer-managed KMS key of the stack', arnOf(LogicalId.EncryptionKey), 'EncryptionKeyArn'),
    },
  };
}
