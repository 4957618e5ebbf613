import { describe, expect, it } from 'vitest';
import { REGISTRY_ZONE, RULE_RECORD, SENSOR_TOPICS } from '../../../../contract';
import { applyRule, compileRule, mayConnect, mayPublish, topicMatches, type ConnectionContext } from '../../../../scripts/simulate/iot-rules';
import { stackView } from '../../../../scripts/simulate/stack-view';

const view = stackView({ EnvironmentSuffix: 'unit' });

/** A connection as IoT Core sees it: the thing the client id names, attached to the certificate, of this environment's sensor type. */
const sensor = (thing: string, overrides: Partial<ConnectionContext> = {}): ConnectionContext => ({
  thing,
  isAttached: true,
  thingTypeName: view.policy.thingTypeName,
  ...overrides,
});

describe('the local IoT policy (read from the template)', () => {
  it('lets a thing connect only with its own name as client id', () => {
    expect(mayConnect(view.policy, sensor('sensor-1'), 'sensor-1')).toBe(true);
    expect(mayConnect(view.policy, sensor('sensor-1'), 'sensor-2')).toBe(false);
    expect(mayConnect(view.policy, sensor('sensor-1'), 'sensor-1x')).toBe(false);
  });

  it("refuses a certificate not attached to the thing, a thing without the sensor type, and another environment's sensor", () => {
    expect(view.policy.thingTypeName).toBe('tapstack-unit-sensor');
    expect(mayConnect(view.policy, sensor('sensor-1', { isAttached: false }), 'sensor-1')).toBe(false);
    expect(mayConnect(view.policy, sensor('sensor-1', { thingTypeName: undefined }), 'sensor-1')).toBe(false);
    expect(mayConnect(view.policy, sensor('sensor-1', { thingTypeName: 'tapstack-prod-sensor' }), 'sensor-1')).toBe(false);
    // Publishing is held to the same conditions, not only connecting.
    expect(mayPublish(view.policy, sensor('sensor-1', { thingTypeName: 'tapstack-prod-sensor' }), SENSOR_TOPICS.basicIngestTopic('unit', 'sensor-1'))).toBe(false);
  });

  it('lets a thing publish only to its own Basic Ingest topic (the default IngestMode)', () => {
    expect(mayPublish(view.policy, sensor('sensor-1'), SENSOR_TOPICS.basicIngestTopic('unit', 'sensor-1'))).toBe(true);
    expect(mayPublish(view.policy, sensor('sensor-1'), SENSOR_TOPICS.basicIngestTopic('unit', 'sensor-2'))).toBe(false);
    expect(mayPublish(view.policy, sensor('sensor-1'), SENSOR_TOPICS.topic('unit', 'sensor-1'))).toBe(false);
    expect(mayPublish(view.policy, sensor('sensor-1'), SENSOR_TOPICS.basicIngestTopic('other', 'sensor-1'))).toBe(false);
  });

  it('also allows the plain topic through the broker when IngestMode is BROKER', () => {
    const broker = stackView({ EnvironmentSuffix: 'unit', IngestMode: 'BROKER' });
    expect(mayPublish(broker.policy, sensor('sensor-1'), SENSOR_TOPICS.topic('unit', 'sensor-1'))).toBe(true);
    expect(mayPublish(broker.policy, sensor('sensor-1'), SENSOR_TOPICS.topic('unit', 'sensor-2'))).toBe(false);
  });
});

describe('the local topic rule (its SQL and partition key from the template)', () => {
  const rule = compileRule(view.rule);

  it('matches MQTT filters', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/c/d')).toBe(false);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
  });

  it('takes a Basic Ingest message as published (base64), stamps the receive time, keys it by the thing', () => {
    const topic = SENSOR_TOPICS.basicIngestTopic('unit', 'sensor-7');
    const payload = Buffer.from(JSON.stringify({ sensor_id: 'sensor-7', congestion_index: 5 }));
    const out = applyRule(rule, topic, payload, 1234)!;
    expect(out.partitionKey).toBe('sensor-7');
    expect(JSON.parse(out.data.toString())).toEqual({ [RULE_RECORD.payload]: payload.toString('base64'), [RULE_RECORD.receivedAt]: 1234 });
  });

  it('keeps what the sensor sent apart from what IoT Core adds: a forged received_at stays inside the payload', () => {
    const payload = Buffer.from(JSON.stringify({ sensor_id: 'sensor-7', received_at: 1, registry_zones: ['zone-99'] }));
    const out = JSON.parse(applyRule(rule, SENSOR_TOPICS.basicIngestTopic('unit', 'sensor-7'), payload, 1234, { [REGISTRY_ZONE.userPropertyKey]: ['zone-01'] })!.data.toString());
    expect(out).toEqual({ payload: payload.toString('base64'), received_at: 1234, registry_zones: ['zone-01'] });
  });

  it('adds every value of the user property the thing type propagates, and leaves the key out when there is none', () => {
    const topic = SENSOR_TOPICS.basicIngestTopic('unit', 'sensor-7');
    const payload = Buffer.from(JSON.stringify({ sensor_id: 'sensor-7', zone_id: 'zone-01' }));
    const withZone = JSON.parse(applyRule(rule, topic, payload, 1, { [REGISTRY_ZONE.userPropertyKey]: ['zone-01'] })!.data.toString());
    expect(withZone[RULE_RECORD.registryZones]).toEqual(['zone-01']);
    const two = JSON.parse(applyRule(rule, topic, payload, 1, { [REGISTRY_ZONE.userPropertyKey]: ['zone-01', 'zone-02'] })!.data.toString());
    expect(two[RULE_RECORD.registryZones]).toEqual(['zone-01', 'zone-02']);
    const without = JSON.parse(applyRule(rule, topic, payload, 1)!.data.toString());
    expect(without).not.toHaveProperty(RULE_RECORD.registryZones);
    // The template's SQL holds the function calls (with their commas) the simulator evaluates, and no `*` beside them.
    expect(view.rule.sql).toContain(`get_user_properties('${REGISTRY_ZONE.userPropertyKey}') AS ${RULE_RECORD.registryZones}`);
    expect(view.rule.sql).toMatch(/^SELECT encode\(\*, 'base64'\) AS payload, /);
  });

  it('ignores topics outside its filter and takes a payload that is not JSON as its bytes', () => {
    expect(applyRule(rule, 'tapstack/other/sensors/s', Buffer.from('{}'), 1)).toBeUndefined();
    const raw = Buffer.from('{"sensor_id": "s');
    expect(JSON.parse(applyRule(rule, SENSOR_TOPICS.topic('unit', 's'), raw, 1)!.data.toString()).payload).toBe(raw.toString('base64'));
  });

  it('refuses SQL it cannot evaluate rather than emulating it wrongly', () => {
    expect(() => compileRule({ ...view.rule, sql: "SELECT * FROM 'a/+' WHERE x > 1" })).toThrow(/cannot read the rule SQL/);
    expect(() => compileRule({ ...view.rule, sql: "SELECT *, upper(x) AS y FROM 'a/+'" })).toThrow(/cannot evaluate "upper\(x\) AS y"/);
  });
});
