import { describe, expect, it } from 'vitest';
import { SENSOR_TOPICS } from '../../contract';
import { buildTemplate } from '../../template/index';
import { resolveTemplate } from '../../scripts/lib/cfn-eval';

const template = buildTemplate();
const required = { LambdaCodeS3Bucket: 'code-bucket', LambdaCodeS3Key: 'processor-0123456789ab.zip' };

/** An Fn::Sub string with the stack's values: `${!x}` stays as the literal `${x}`. */
const substitute = (text: string, env: string) =>
  text
    .replace(/\$\{EnvironmentSuffix\}/g, env)
    .replace(/\$\{AWS::Partition\}/g, 'aws')
    .replace(/\$\{AWS::Region\}/g, 'us-east-1')
    .replace(/\$\{AWS::AccountId\}/g, '123456789012')
    .replace(/\$\{!/g, '${');
const subText = (node: unknown, env: string) => substitute((node as { 'Fn::Sub': string })['Fn::Sub'], env);

/** MQTT topic filter matching: `+` is one level, `#` the rest. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** What an environment's stack lets a thing do and what its rule hears. */
function ingestion(env: string, mode = 'BASIC_INGEST') {
  const { resources } = resolveTemplate(template, { ...required, EnvironmentSuffix: env, IngestMode: mode });
  const rule = resources.SensorTopicRule!.Properties.TopicRulePayload;
  const sql = subText(rule.Sql, env);
  const filter = /FROM '([^']+)'/.exec(sql)![1]!;
  const publish = resources.SensorPolicy!.Properties.PolicyDocument.Statement.find((s: { Sid: string }) => s.Sid === 'PublishOnlyToOwnTopic');
  const allowed = (thing: string) =>
    (publish.Resource as unknown[]).map((r) =>
      subText(r, env).replace('${iot:Connection.Thing.ThingName}', thing).replace(/^arn:aws:iot:us-east-1:123456789012:topic\//, ''),
    );
  return { rule, sql, filter, ruleName: substitute(resources.SensorTopicRule!.Properties.RuleName['Fn::Sub'], env), allowed };
}

describe('buildIngestion', () => {
  it('scopes topics by environment: two environments never hear each other', () => {
    const dev = ingestion('dev');
    const prod = ingestion('prod');
    expect(dev.filter).toBe('tapstack/dev/sensors/+');
    expect(matches(dev.filter, SENSOR_TOPICS.topic('dev', 'sensor-1'))).toBe(true);
    expect(matches(dev.filter, SENSOR_TOPICS.topic('prod', 'sensor-1'))).toBe(false);
    expect(matches(prod.filter, SENSOR_TOPICS.topic('dev', 'sensor-1'))).toBe(false);
    // A device of one environment may not publish into the other's topics either.
    for (const topic of dev.allowed('sensor-1')) expect(prod.allowed('sensor-1')).not.toContain(topic);
    expect(dev.ruleName).not.toBe(prod.ruleName);
  });

  it('lets a sensor publish exactly its own Basic Ingest topic, and its plain topic only in BROKER mode', () => {
    expect(ingestion('dev').allowed('sensor-1')).toEqual(['$aws/rules/tapstack_dev_sensor_readings/tapstack/dev/sensors/sensor-1']);
    expect(ingestion('dev', 'BROKER').allowed('sensor-1')).toEqual([
      '$aws/rules/tapstack_dev_sensor_readings/tapstack/dev/sensors/sensor-1',
      'tapstack/dev/sensors/sensor-1',
    ]);
    expect(ingestion('dev').allowed('sensor-1')).not.toContain(SENSOR_TOPICS.basicIngestTopic('dev', 'sensor-2'));
  });

  it('routes Basic Ingest to this rule, which keys each record by the thing from the topic level the policy pins', () => {
    const { ruleName, rule } = ingestion('dev');
    const topic = SENSOR_TOPICS.basicIngestTopic('dev', 'sensor-7');
    expect(topic.startsWith(`$aws/rules/${ruleName}/`)).toBe(true);
    // The rules engine strips $aws/rules/<rule>/ before the rule sees the topic.
    const seen = topic.slice(`$aws/rules/${ruleName}/`.length);
    const level = Number(/^\$\{topic\((\d)\)\}$/.exec(rule.Actions[0].Kinesis.PartitionKey)![1]);
    expect(seen.split('/')[level - 1]).toBe('sensor-7');
    // The policy's own topic for the thing is that level.
    expect(ingestion('dev').allowed('sensor-7')).toEqual([topic]);
  });

  it('selects only functions: the payload as one opaque value, nothing the device sends beside the keys the rule sets', () => {
    const { sql } = ingestion('dev');
    expect(sql).toBe(
      "SELECT encode(*, 'base64') AS payload, timestamp() AS received_at, get_user_properties('tapstack:zone') AS registry_zones FROM 'tapstack/dev/sensors/+'",
    );
  });
});
