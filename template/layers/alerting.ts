/** EventBridge → SNS for congestion alerts, and the ops topic for alarms. */
import { Events, SNS } from 'cloudform-types';
import { ALERT_EVENT, SENSOR_HEALTH_EVENT } from '../../contract';
import { queueDepthAlarm } from '../alarms';
import type { StackConfig } from '../config';
import { encryptedQueue, encryptedTopic, tags, type TagConfig } from '../defaults';
import { arn, publishOnlyFrom, type PolicyStatement } from '../iam';
import { arnOf, getAtt, ifCondition, ref, sub } from '../intrinsics';
import { exported, type Layer } from '../layer';
import { alarmMetric, metric, type Metric } from '../metrics';
import { LogicalId, physicalName, physicalNamePattern } from '../names';
import { Cond, Param, param, type ParamName } from '../parameters';

/** The event pattern of the processor's alerts (NORMAL/WARNING/CRITICAL transitions). */
export const ALERT_EVENT_PATTERN = { source: [ALERT_EVENT.source], 'detail-type': [ALERT_EVENT.detailType] };

export const ALERT_RULE_BASE_NAME = 'congestion-alerts';
/** The alert bus's name base (`tapstack-<env>-traffic`): the key policy names its rules by it. */
export const ALERT_BUS_BASE_NAME = 'traffic';

/**
 * Nobody but AWS services (the stack's rule and alarms, each allowed by source ARN) and the exempted
 * roles may publish to a topic: a Deny for every other principal, since within the account an IAM
 * policy alone would otherwise do (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
 * aws:PrincipalIsAWSService is true for a service principal's own calls
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalisawsservice).
 */
function onlyServicesPublish(topicId: string, exempt?: { condition: string; roleArns: unknown }): PolicyStatement {
  const notAService = { Bool: { 'aws:PrincipalIsAWSService': 'false' } };
  // Fn::If inside the policy document: CloudFormation resolves it before SNS reads the policy.
  const condition = exempt ? ifCondition(exempt.condition, { ...notAService, ArnNotLike: { 'aws:PrincipalArn': exempt.roleArns } }, notAService) : notAService;
  return {
    Sid: 'OnlyTheStackPublishes',
    Effect: 'Deny',
    Principal: '*',
    Action: 'sns:Publish',
    Resource: ref(topicId),
    Condition: condition as PolicyStatement['Condition'],
  };
}

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

/** The detector's Sensor Silent / Sensor Recovered events, for field maintenance (the ops topic). */
export const SENSOR_HEALTH_EVENT_PATTERN = { source: [SENSOR_HEALTH_EVENT.source] };
const HEALTH_INPUT_PATHS = {
  state: '$.detail.state',
  sensor: '$.detail.sensor_id',
  zone: '$.detail.zone_id',
  lastSeen: '$.detail.last_seen_at',
  after: '$.detail.silent_after_seconds',
  eventId: '$.detail.event_id',
};
const HEALTH_INPUT_TEMPLATE =
  '"Sensor <sensor> in zone <zone> is now <state> (last reading <lastSeen>; silent means nothing for <after> s). Event <eventId>."';

/** The alert rule's name pattern (`tapstack-<env>-congestion-alerts`), for alarms and the dashboard. */
export const ALERT_RULE_NAME = physicalNamePattern(ALERT_RULE_BASE_NAME);

/** A metric of the rule that sends alerts to the alerts topic (AWS/Events). */
export const alertRuleMetric = (name: 'Invocations' | 'FailedInvocations'): Metric =>
  metric('AWS/Events', name, { EventBusName: `\${${LogicalId.AlertBus}.Name}`, RuleName: ALERT_RULE_NAME });

/**
 * The alert bus and its archive, the rule that turns alert events into sentences on the alerts
 * topic (with a dead-letter queue), the ops topic for alarms, optional email subscriptions.
 */
export function buildAlerting(config: TagConfig & Pick<StackConfig, 'queueRetentionSeconds' | 'alertArchiveRetentionDays'>): Layer {
  const bus = new Events.EventBus({ Name: physicalName(ALERT_BUS_BASE_NAME), Tags: tags(config) });
  const archive = new Events.Archive({
    ArchiveName: physicalName('alerts'),
    Description: 'Every event on the alert bus (congestion alerts and sensor health events), for replay',
    SourceArn: arnOf(LogicalId.AlertBus),
    RetentionDays: config.alertArchiveRetentionDays,
  });

  const alertsTopic = encryptedTopic(config, 'alerts', 'TapStack congestion alerts', LogicalId.AlertsTopic, {
    publishers: [publishOnlyFrom('events.amazonaws.com', arnOf(LogicalId.CongestionAlertRule), { sid: 'OnlyTheAlertRulePublishes' })],
    statements: [
      onlyServicesPublish(LogicalId.AlertsTopic, {
        // npm run redrive -- --alerts publishes undelivered alerts as the operator.
        condition: Cond.HasOperatorRole,
        roleArns: sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${OperatorRoleName}'),
      }),
    ],
  });
  const opsTopic = encryptedTopic(config, 'ops', 'TapStack operational alarms', LogicalId.OpsTopic, {
    publishers: [
      publishOnlyFrom('cloudwatch.amazonaws.com', arn('cloudwatch', `alarm:${physicalNamePattern('*')}`), { sid: 'StackAlarmsPublish', like: true }),
      publishOnlyFrom('events.amazonaws.com', arnOf(LogicalId.SensorHealthRule), { sid: 'SensorHealthRulePublishes' }),
    ],
    statements: [onlyServicesPublish(LogicalId.OpsTopic)],
  });

  // Only the processor (congestion alerts) and the detector (sensor health) put events on the bus:
  // a Deny in the bus's resource policy for every other principal (EventBridge honours an explicit
  // Deny there: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-eventsv2-resourcepolicy.html).
  // Its own resource, not the bus's Policy property: the roles name the bus, so the bus cannot name the roles.
  const busPolicy = new Events.EventBusPolicy({
    EventBusName: getAtt(LogicalId.AlertBus, 'Name'),
    StatementId: 'OnlyTheStackPutsEvents',
    Statement: {
      Sid: 'OnlyTheStackPutsEvents',
      Effect: 'Deny',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: arnOf(LogicalId.AlertBus),
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [arnOf(LogicalId.ProcessorRole), arnOf(LogicalId.HealthDetectorRole)] } },
    },
  });

  const deliveryDlq = encryptedQueue(config, 'alert-delivery-dlq', LogicalId.AlertDeliveryDeadLetterQueue, {
    publishers: [
      publishOnlyFrom('events.amazonaws.com', [arnOf(LogicalId.CongestionAlertRule), arnOf(LogicalId.SensorHealthRule)], { sid: 'AlertRuleDeadLetters' }),
    ],
  });

  /** A rule on the bus that turns its events into sentences on a topic, retried for an hour, then dead-lettered. */
  const toTopic = (
    base: string,
    description: string,
    pattern: Record<string, string[]>,
    target: { id: string; topic: string; paths: Record<string, string>; template: string },
  ) =>
    new Events.Rule({
      Name: physicalName(base),
      Description: description,
      // Fn::GetAtt Name, not Ref (an ARN for a custom bus): what both CloudFormation and moto accept.
      EventBusName: getAtt(LogicalId.AlertBus, 'Name'),
      EventPattern: pattern,
      State: 'ENABLED',
      Targets: [
        {
          Id: target.id,
          Arn: ref(target.topic),
          InputTransformer: { InputPathsMap: target.paths, InputTemplate: target.template },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: arnOf(LogicalId.AlertDeliveryDeadLetterQueue) },
        },
      ],
      Tags: tags(config),
    });
  const rule = toTopic(ALERT_RULE_BASE_NAME, 'Congestion level transitions from the processor, to the alerts topic', ALERT_EVENT_PATTERN, {
    id: 'alerts-topic',
    topic: LogicalId.AlertsTopic,
    paths: ALERT_INPUT_PATHS,
    template: ALERT_INPUT_TEMPLATE,
  });
  const healthRule = toTopic(
    'sensor-health',
    'Sensor Silent and Sensor Recovered events from the detector, to the ops topic (field maintenance)',
    SENSOR_HEALTH_EVENT_PATTERN,
    { id: 'ops-topic', topic: LogicalId.OpsTopic, paths: HEALTH_INPUT_PATHS, template: HEALTH_INPUT_TEMPLATE },
  );

  const emailSubscription = (topicId: string, email: ParamName) =>
    new SNS.Subscription({ TopicArn: ref(topicId), Protocol: 'email', Endpoint: param(email) });

  return {
    resources: {
      AlertBus: bus,
      AlertBusPolicy: busPolicy,
      AlertArchive: archive,
      ...alertsTopic.resources,
      ...opsTopic.resources,
      ...deliveryDlq.resources,
      CongestionAlertRule: rule,
      SensorHealthRule: healthRule,
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
    alarms: [
      queueDepthAlarm({
        id: LogicalId.AlertDeliveryDeadLetterQueueAlarm,
        queue: LogicalId.AlertDeliveryDeadLetterQueue,
        name: 'alert-delivery-dlq',
        description: 'Alerts EventBridge could not deliver to the alerts topic',
        runbook:
          'Check the topic policy and the key policy (`EventBridgeDeliversToEncryptedTopicAndQueue`); then re-send, see ' +
          '*Alerts that were not delivered*.',
      }),
      {
        id: LogicalId.AlertRuleFailedInvocationsAlarm,
        name: 'alert-rule-failed-invocations',
        description: 'EventBridge failed to deliver alerts to the alerts topic (check the topic and key policies)',
        runbook: 'As `alert-delivery-dlq`.',
        ...alarmMetric(alertRuleMetric('FailedInvocations')),
        threshold: 0,
      },
    ],
  };
}
