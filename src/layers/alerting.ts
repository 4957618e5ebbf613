/** EventBridge → SNS for congestion alerts, and the ops topic for alarms. */
import { Events, SNS } from 'cloudform-types';
import { arn, denyInsecureTransport, exported, policyDocument, tags, type Layer } from '../common';
import type { StackConfig } from '../config';
import { ALERT_EVENT } from '../contract';
import { accountId, arnOf, getAtt, ref } from '../intrinsics';
import { LogicalId, physicalName, physicalNamePattern } from '../names';
import { Cond, Param, param, type ParamName } from '../parameters';
import { encryptedQueue } from './processing';

/** The event pattern of the processor's alerts (NORMAL/WARNING/CRITICAL transitions). */
export const ALERT_EVENT_PATTERN = { source: [ALERT_EVENT.source], 'detail-type': [ALERT_EVENT.detailType] };

export const ALERT_RULE_BASE_NAME = 'congestion-alerts';

/** Turns an alert event into a sentence a traffic controller can act on. */
const ALERT_INPUT_PATHS = {
  level: '$.detail.level',
  previous: '$.detail.previous_level',
  sensor: '$.detail.sensor_id',
  zone: '$.detail.zone_id',
  index: '$.detail.congestion_index',
  threshold: '$.detail.threshold',
  readingTime: '$.detail.reading_time',
  alertId: '$.detail.alert_id',
};
const ALERT_INPUT_TEMPLATE =
  '"Traffic congestion <level> (was <previous>) at sensor <sensor> in zone <zone>: ' +
  'congestion index <index>, threshold <threshold>, reading at <readingTime>. Alert <alertId>."';

export function buildAlerting(config: StackConfig): Layer {
  const bus = new Events.EventBus({ Name: physicalName('traffic'), Tags: tags(config) });
  const archive = new Events.Archive({
    ArchiveName: physicalName('alerts'),
    Description: 'Every event on the alert bus (it carries only congestion alerts), for replay',
    SourceArn: arnOf(LogicalId.AlertBus),
    RetentionDays: config.alertArchiveRetentionDays,
  });

  const topic = (name: string, displayName: string) =>
    new SNS.Topic({
      TopicName: physicalName(name),
      DisplayName: displayName,
      KmsMasterKeyId: arnOf(LogicalId.EncryptionKey),
      Tags: tags(config),
    });
  const alertsTopic = topic('alerts', 'TapStack congestion alerts');
  const opsTopic = topic('ops', 'TapStack operational alarms');

  const alertsTopicPolicy = new SNS.TopicPolicy({
    Topics: [ref(LogicalId.AlertsTopic)],
    PolicyDocument: policyDocument(
      {
        Sid: 'OnlyTheAlertRulePublishes',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: ref(LogicalId.AlertsTopic),
        Condition: { ArnEquals: { 'aws:SourceArn': arnOf(LogicalId.CongestionAlertRule) } },
      },
      denyInsecureTransport('sns:Publish', ref(LogicalId.AlertsTopic)),
    ),
  });
  const opsTopicPolicy = new SNS.TopicPolicy({
    Topics: [ref(LogicalId.OpsTopic)],
    PolicyDocument: policyDocument(
      {
        Sid: 'StackAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: ref(LogicalId.OpsTopic),
        Condition: {
          StringEquals: { 'aws:SourceAccount': accountId },
          ArnLike: { 'aws:SourceArn': arn('cloudwatch', `alarm:${physicalNamePattern('*')}`) },
        },
      },
      denyInsecureTransport('sns:Publish', ref(LogicalId.OpsTopic)),
    ),
  });

  const deliveryDlq = encryptedQueue(config, 'alert-delivery-dlq', LogicalId.AlertDeliveryDeadLetterQueue);
  deliveryDlq.policy.Properties.PolicyDocument.Statement.unshift({
    Sid: 'AlertRuleDeadLetters',
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: arnOf(LogicalId.AlertDeliveryDeadLetterQueue),
    Condition: { ArnEquals: { 'aws:SourceArn': arnOf(LogicalId.CongestionAlertRule) } },
  });

  const rule = new Events.Rule({
    Name: physicalName(ALERT_RULE_BASE_NAME),
    Description: 'Congestion level transitions from the processor, to the alerts topic',
    // Fn::GetAtt Name, not Ref (an ARN for a custom bus): what both CloudFormation and moto accept.
    EventBusName: getAtt(LogicalId.AlertBus, 'Name'),
    EventPattern: ALERT_EVENT_PATTERN,
    State: 'ENABLED',
    Targets: [
      {
        Id: 'alerts-topic',
        Arn: ref(LogicalId.AlertsTopic),
        InputTransformer: { InputPathsMap: ALERT_INPUT_PATHS, InputTemplate: ALERT_INPUT_TEMPLATE },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: arnOf(LogicalId.AlertDeliveryDeadLetterQueue) },
      },
    ],
    Tags: tags(config),
  });

  const emailSubscription = (topicId: string, email: ParamName) =>
    new SNS.Subscription({ TopicArn: ref(topicId), Protocol: 'email', Endpoint: param(email) });

  return {
    resources: {
      AlertBus: bus,
      AlertArchive: archive,
      AlertsTopic: alertsTopic,
      AlertsTopicPolicy: alertsTopicPolicy,
      OpsTopic: opsTopic,
      OpsTopicPolicy: opsTopicPolicy,
      AlertDeliveryDeadLetterQueue: deliveryDlq.queue,
      AlertDeliveryDeadLetterQueuePolicy: deliveryDlq.policy,
      CongestionAlertRule: rule,
      AlertsEmailSubscription: emailSubscription(LogicalId.AlertsTopic, Param.NotificationEmail).condition(
        Cond.HasNotificationEmail,
      ),
      OpsEmailSubscription: emailSubscription(LogicalId.OpsTopic, Param.OpsNotificationEmail).condition(
        Cond.HasOpsNotificationEmail,
      ),
    },
    outputs: {
      EventBusName: exported('Event bus of congestion alerts', getAtt(LogicalId.AlertBus, 'Name'), 'EventBusName'),
      AlertsTopicArn: exported('SNS topic of congestion alerts (subscribe controllers here)', ref(LogicalId.AlertsTopic), 'AlertsTopicArn'),
      OpsTopicArn: exported('SNS topic of operational alarms', ref(LogicalId.OpsTopic), 'OpsTopicArn'),
      AlertDeliveryDeadLetterQueueUrl: exported(
        'Alerts EventBridge could not deliver to SNS',
        ref(LogicalId.AlertDeliveryDeadLetterQueue),
        'AlertDeliveryDeadLetterQueueUrl',
      ),
    },
  };
}
