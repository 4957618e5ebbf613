/** IoT Core: what a sensor may do, and the topic rule that forwards its readings to Kinesis. */
import { IAM, IoT, Logs } from 'cloudform-types';
import { METRIC, REGISTRY_ZONE, RULE_RECORD, SENSOR_TOPICS } from '../../contract';
import type { StackConfig } from '../config';
import { logGroup, tags, type TagConfig } from '../defaults';
import { allow, arn, assumedBy, KINESIS_ACTIONS, LOGS_WRITE_ACTIONS, policyDocument } from '../iam';
import { exported, type Layer } from '../layer';
import { accountId, arnOf, ifCondition, ref, sub } from '../intrinsics';
import { alarmMetric, metric, stackNamespace, type Metric } from '../metrics';
import { LogicalId, physicalName } from '../names';
import { Cond } from '../parameters';

const ENVIRONMENT = '${EnvironmentSuffix}';
/** The connecting thing, as an IoT policy variable (escaped for Fn::Sub). */
const THING = '${!iot:Connection.Thing.ThingName}';

/** The rule's name (letters, digits and underscores only), an Fn::Sub pattern. */
export const TOPIC_RULE_NAME = SENSOR_TOPICS.ruleName(ENVIRONMENT);

/** A metric of the topic rule (AWS/IoT). */
export const topicRuleMetric = (name: 'TopicMatch'): Metric => metric('AWS/IoT', name, { RuleName: TOPIC_RULE_NAME });

/** Readings the rule failed to put on the stream: the error log's metric filter, in the stack's namespace. */
export const topicRuleFailuresMetric = (config: Pick<StackConfig, 'metricsNamespacePrefix'>): Metric =>
  metric(stackNamespace(config), METRIC.iotRuleActionFailures);

/**
 * The topic rule's SQL: the message as published (base64, opaque), the server receive time (sensor
 * clocks drift, so latency is measured from here) and every `tapstack:zone` user property (the
 * sensor's zone, which its thing type propagates from the registry; the processor quarantines a
 * reading unless there is exactly one, equal to its zone_id). The sensor is the record's partition
 * key, from the topic level the policy pins to the connecting thing.
 *
 * Only functions, no `*` beside aliases: IoT SQL documents `SELECT *, <expr> AS <key>` but not what
 * happens when the payload already has <key> (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-select.html
 * shows no collision), and it leaves out a key whose value is Undefined, so a device could otherwise
 * fill in what the rule left out or, if the payload wins, overwrite what it put in. Here the
 * payload is one string value and cannot meet a key the rule sets, whichever way IoT resolves
 * names (RULE_RECORD). `encode(*, 'base64')` with only functions in the SELECT is the documented
 * form for payloads of any format (https://docs.aws.amazon.com/iot/latest/developerguide/binary-payloads.html),
 * so a payload that is not JSON still reaches the processor to be quarantined with its bytes.
 *
 * Why the registry zone travels with the message rather than being looked up (at 50,000 readings/s):
 *  - get_registry_data("DescribeThing", thing, role) in this SQL is billed like a rule action
 *    (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html): 50,000/s ×
 *    2.63 M s/month × $0.15 per million (https://aws.amazon.com/iot-core/pricing/) ≈ $19,700 a month.
 *  - the processor validating through DescribeThing and a cache: DescribeThing is a registry
 *    operation (billed) limited to 350 requests/s per account (quota L-0EF0F5EE,
 *    https://docs.aws.amazon.com/general/latest/gr/iot-core.html); 150 processor containers starting
 *    together with ~420 sensors each need 63,000 lookups, three minutes of throttling after every
 *    deploy, unless a second cache table is kept in step with the registry.
 *  - propagated attributes (REGISTRY_ZONE): no per-message charge, no API call, no quota; a zone
 *    change in the registry applies from the thing's next message.
 */
export const TOPIC_RULE_SQL =
  `SELECT encode(*, 'base64') AS ${RULE_RECORD.payload}, timestamp() AS ${RULE_RECORD.receivedAt}, ` +
  `get_user_properties('${REGISTRY_ZONE.userPropertyKey}') AS ${RULE_RECORD.registryZones} ` +
  `FROM '${SENSOR_TOPICS.filter(ENVIRONMENT)}'`;

/**
 * Who the policy is for: a device whose certificate is attached to the thing it connects as
 * (client id = thing name), and that thing of this environment's sensor thing type. A thing without
 * the type (made by hand, or by another environment's provisioning in a shared account) cannot
 * connect, so every connected sensor's messages carry its registry zone (REGISTRY_ZONE), and no
 * certificate of one environment acts in another. Thing policy variables in a Condition:
 * https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-variables.html and the
 * ThingTypeName example of https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-examples.html.
 */
export const sensorOfThisEnvironment = () => ({
  Bool: { 'iot:Connection.Thing.IsAttached': 'true' },
  StringEquals: { 'iot:Connection.Thing.ThingTypeName': ref(LogicalId.SensorThingType) },
});

const topicArn = (topic: string) => sub(`arn:\${AWS::Partition}:iot:\${AWS::Region}:\${AWS::AccountId}:topic/${topic}`);

/**
 * The sensor policy (connect as your own thing, publish to your own topic), the topic rule that
 * puts every reading on the stream keyed by sensor, its error log, and the alarm on that log.
 */
export function buildIngestion(config: TagConfig & Pick<StackConfig, 'metricsNamespacePrefix'>): Layer {
  const basicIngest = topicArn(SENSOR_TOPICS.basicIngestTopic(ENVIRONMENT, THING));
  const sensorPolicy = new IoT.Policy({
    PolicyName: physicalName('sensor'),
    PolicyDocument: policyDocument(
      allow(
        'ConnectOnlyAsOwnThing',
        ['iot:Connect'],
        sub(`arn:\${AWS::Partition}:iot:\${AWS::Region}:\${AWS::AccountId}:client/${THING}`),
        sensorOfThisEnvironment(),
      ),
      // Its own topic only: through Basic Ingest, and through the broker when IngestMode is BROKER.
      allow(
        'PublishOnlyToOwnTopic',
        ['iot:Publish'],
        ifCondition(Cond.IsBrokerIngest, [basicIngest, topicArn(SENSOR_TOPICS.topic(ENVIRONMENT, THING))], [basicIngest]),
        sensorOfThisEnvironment(),
      ),
    ),
    Tags: tags(config),
  });

  const errorLogGroup = logGroup(config, '/tapstack/${EnvironmentSuffix}/iot-rule-errors');

  const role = new IAM.Role({
    Description: 'IoT topic rule: put readings on the stream, log failed actions',
    AssumeRolePolicyDocument: assumedBy('iot.amazonaws.com', {
      StringEquals: { 'aws:SourceAccount': accountId },
      ArnEquals: { 'aws:SourceArn': arn('iot', `rule/${TOPIC_RULE_NAME}`) },
    }),
    Policies: [
      {
        PolicyName: 'put-readings',
        PolicyDocument: policyDocument(
          allow('PutReadings', KINESIS_ACTIONS.put, arnOf(LogicalId.ReadingsStream)),
          allow('EncryptForStream', ['kms:GenerateDataKey'], arnOf(LogicalId.EncryptionKey), {
            StringEquals: { 'kms:ViaService': sub('kinesis.${AWS::Region}.amazonaws.com') },
          }),
          allow(
            'WriteErrorLog',
            LOGS_WRITE_ACTIONS,
            sub('${LogGroupArn}:*', { LogGroupArn: arnOf(LogicalId.TopicRuleErrorLogGroup) }),
          ),
        ),
      },
    ],
    Tags: tags(config),
  });

  const rule = new IoT.TopicRule({
    RuleName: sub(TOPIC_RULE_NAME),
    TopicRulePayload: {
      Description: 'Forwards every sensor reading to Kinesis, keyed by sensor, stamped with the receive time',
      AwsIotSqlVersion: '2016-03-23',
      Sql: sub(TOPIC_RULE_SQL),
      RuleDisabled: false,
      Actions: [
        {
          Kinesis: {
            StreamName: ref(LogicalId.ReadingsStream),
            PartitionKey: `\${topic(${SENSOR_TOPICS.thingLevel})}`,
            RoleArn: arnOf(LogicalId.TopicRuleRole),
          },
        },
      ],
      ErrorAction: {
        CloudwatchLogs: { LogGroupName: ref(LogicalId.TopicRuleErrorLogGroup), RoleArn: arnOf(LogicalId.TopicRuleRole) },
      },
    },
    Tags: tags(config),
  });

  // Every event in the error log group is a reading the rule failed to put on the stream.
  const ruleFailures = topicRuleFailuresMetric(config);
  const failureMetric = new Logs.MetricFilter({
    LogGroupName: ref(LogicalId.TopicRuleErrorLogGroup),
    FilterPattern: '',
    MetricTransformations: [
      {
        MetricName: ruleFailures.name,
        MetricNamespace: sub(ruleFailures.namespace),
        MetricValue: '1',
        DefaultValue: 0,
      },
    ],
  });

  return {
    resources: {
      SensorPolicy: sensorPolicy,
      TopicRuleErrorLogGroup: errorLogGroup,
      TopicRuleRole: role,
      SensorTopicRule: rule,
      TopicRuleFailureMetricFilter: failureMetric,
    },
    outputs: {
      SensorPolicyName: exported('IoT policy of the sensors: npm run deploy attaches it to the sensor thing group (SensorThingGroupName), never to a certificate', ref(LogicalId.SensorPolicy), 'SensorPolicyName'),
      SensorTopic: exported(
        'Topic filter of the topic rule: each sensor publishes to it with its thing name for +',
        sub(SENSOR_TOPICS.filter(ENVIRONMENT)),
        'SensorTopic',
      ),
      SensorPublishTopic: exported(
        'The topic a sensor publishes to, its thing name for + (Basic Ingest unless IngestMode is BROKER)',
        ifCondition(
          Cond.IsBrokerIngest,
          sub(SENSOR_TOPICS.filter(ENVIRONMENT)),
          sub(`$aws/rules/${TOPIC_RULE_NAME}/${SENSOR_TOPICS.filter(ENVIRONMENT)}`),
        ),
        'SensorPublishTopic',
      ),
      IoTDataEndpointCommand: {
        Description: 'Run this to get the MQTT/TLS endpoint sensors connect to',
        Value: 'aws iot describe-endpoint --endpoint-type iot:Data-ATS',
      },
    },
    alarms: [
      {
        id: LogicalId.TopicRuleFailureAlarm,
        name: 'iot-rule-failures',
        description: 'The IoT topic rule failed to put readings on the stream: see the IoT rule error log group',
        runbook:
          'The rule\'s error log group `/tapstack/<env>/iot-rule-errors` says why (throttling, permissions, key). ' +
          'Throttling: see `stream-write-throttles`.',
        ...alarmMetric(ruleFailures),
        threshold: 0,
      },
    ],
  };
}
