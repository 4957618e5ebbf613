import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand, EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../template/config';
import { ALERT_EVENT, ENV, READINGS_TABLE, SENSOR_HEALTH_EVENT } from '../../contract';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';
import { deployToMoto, type DeployedStack } from '../helpers/stack';

describe('CreateStack of templates/TapStack.yml in moto', () => {
  let moto: Moto;
  let deployed: DeployedStack;
  let config: ReturnType<typeof motoClientConfig>;

  beforeAll(async () => {
    moto = await startMoto();
    config = motoClientConfig(moto.endpoint);
    deployed = await deployToMoto(moto.endpoint, 'tapstack-ci', {
      EnvironmentSuffix: 'ci',
      ThrowawayEnvironment: 'true',
      KinesisShardCount: '4',
      ProcessorReservedConcurrency: '8',
    });
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('completes with the outputs operators need', () => {
    expect(deployed.stack.StackStatus).toBe('CREATE_COMPLETE');
    expect(deployed.outputs).toMatchObject({
      StreamName: 'tapstack-ci-readings',
      ReadingsTableName: 'tapstack-ci-readings',
      AlertStateTableName: 'tapstack-ci-alert-state',
      EventBusName: 'tapstack-ci-traffic',
      ProcessorFunctionName: 'tapstack-ci-processor',
      SensorTopic: 'tapstack/ci/sensors/+',
      SensorPublishTopic: '$aws/rules/tapstack_ci_sensor_readings/tapstack/ci/sensors/+',
      IoTDataEndpointCommand: 'aws iot describe-endpoint --endpoint-type iot:Data-ATS',
    });
    for (const key of ['StreamArn', 'AlertsTopicArn', 'OpsTopicArn', 'QuarantineQueueUrl', 'ProcessorDeadLetterQueueUrl', 'AlertDeliveryDeadLetterQueueUrl', 'RawDataBucketName', 'DashboardUrl', 'EncryptionKeyArn']) {
      expect(deployed.outputs[key], key).toMatch(/tapstack-ci|arn:aws:kms/);
    }
  });

  it('creates the stream with the requested shards', async () => {
    const kinesis = new KinesisClient({ ...config, requestHandler: new NodeHttpHandler() });
    const { StreamDescriptionSummary: s } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: deployed.outputs.StreamName }));
    expect(s?.StreamStatus).toBe('ACTIVE');
    expect(s?.OpenShardCount).toBe(4);
    expect(s?.RetentionPeriodHours).toBe(DEFAULTS.parameters.streamRetentionHours);
  });

  it('creates the readings table with its key, zone index and billing mode', async () => {
    const ddb = new DynamoDBClient(config);
    const { Table: t } = await ddb.send(new DescribeTableCommand({ TableName: deployed.outputs.ReadingsTableName }));
    expect(t?.KeySchema).toEqual([
      { AttributeName: READINGS_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: READINGS_TABLE.sortKey, KeyType: 'RANGE' },
    ]);
    expect(t?.GlobalSecondaryIndexes?.[0]?.IndexName).toBe(READINGS_TABLE.zoneIndexName);
    expect(t?.BillingModeSummary?.BillingMode).toBe('PROVISIONED');
    expect(t?.ProvisionedThroughput?.WriteCapacityUnits).toBe(27_100);
    expect(t?.GlobalSecondaryIndexes?.[0]?.ProvisionedThroughput?.WriteCapacityUnits).toBe(12_000);
    const { Table: state } = await ddb.send(new DescribeTableCommand({ TableName: deployed.outputs.AlertStateTableName }));
    expect(state?.KeySchema).toEqual([{ AttributeName: 'sensor_id', KeyType: 'HASH' }]);
  });

  it('creates the queues with 14-day retention', async () => {
    const sqs = new SQSClient(config);
    for (const key of ['QuarantineQueueUrl', 'ProcessorDeadLetterQueueUrl', 'AlertDeliveryDeadLetterQueueUrl']) {
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: deployed.outputs[key], AttributeNames: ['All'] }));
      expect(Attributes?.MessageRetentionPeriod, key).toBe(String(DEFAULTS.queueRetentionSeconds));
    }
  });

  it('creates both topics', async () => {
    const sns = new SNSClient(config);
    for (const key of ['AlertsTopicArn', 'OpsTopicArn']) {
      const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: deployed.outputs[key] }));
      expect(Attributes?.TopicArn).toBe(deployed.outputs[key]);
    }
  });

  it('creates the bus with the alert rule targeting the alerts topic', async () => {
    const events = new EventBridgeClient(config);
    const bus = await events.send(new DescribeEventBusCommand({ Name: deployed.outputs.EventBusName }));
    expect(bus.Name).toBe('tapstack-ci-traffic');
    // moto also lists the managed rule that feeds the archive.
    const { Rules } = await events.send(new ListRulesCommand({ EventBusName: deployed.outputs.EventBusName, NamePrefix: 'tapstack-ci-' }));
    expect(Rules?.map((r) => r.Name).sort()).toEqual(['tapstack-ci-congestion-alerts', 'tapstack-ci-sensor-health']);
    const rule = (name: string) => Rules!.find((r) => r.Name === name)!;
    expect(JSON.parse(rule('tapstack-ci-congestion-alerts').EventPattern!)).toEqual({ source: [ALERT_EVENT.source], 'detail-type': [ALERT_EVENT.detailType] });
    expect(JSON.parse(rule('tapstack-ci-sensor-health').EventPattern!)).toEqual({ source: [SENSOR_HEALTH_EVENT.source] });
    const targetOf = async (name: string) =>
      (await events.send(new ListTargetsByRuleCommand({ Rule: name, EventBusName: deployed.outputs.EventBusName }))).Targets?.[0]?.Arn;
    expect(await targetOf('tapstack-ci-congestion-alerts')).toBe(deployed.outputs.AlertsTopicArn);
    // Sensor Silent / Recovered go to the operators, not to the traffic controllers.
    expect(await targetOf('tapstack-ci-sensor-health')).toBe(deployed.outputs.OpsTopicArn);
  });

  // moto ignores Architectures (reports x86_64): arm64 is asserted on the template in builders.test.ts.
  it('creates the processor with its runtime and environment', async () => {
    const lambda = new LambdaClient(config);
    const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: deployed.outputs.ProcessorFunctionName }));
    expect(fn.Runtime).toBe('nodejs24.x');
    // moto hands Number parameters through as numbers; Lambda itself only has strings.
    const variables = Object.fromEntries(Object.entries(fn.Environment?.Variables ?? {}).map(([k, v]) => [k, String(v)]));
    expect(variables).toMatchObject({
      [ENV.readingsTableName]: 'tapstack-ci-readings',
      [ENV.eventBusName]: 'tapstack-ci-traffic',
      [ENV.quarantineQueueUrl]: deployed.outputs.QuarantineQueueUrl,
      [ENV.warningThreshold]: '80',
      [ENV.criticalThreshold]: '90',
      [ENV.zoneIndexShards]: '10',
    });
  });
});
