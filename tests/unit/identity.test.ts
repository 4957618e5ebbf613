/**
 * The processor against a sensor that lies: each record is what the topic rule makes of a message
 * (RULE_RECORD: the payload as published, the receive time, every `tapstack:zone` user property;
 * the thing as partition key), with a payload the attacker chose. Each lie is quarantined with its
 * reason, nothing is stored under a sensor the publisher is not, and the honest readings of the same
 * batch (the real sensor's among them) are stored as usual.
 */
import { describe, expect, it } from 'vitest';
import { READINGS_TABLE } from '../../contract';
import { processBatch } from '../../handlers/processor/handler';
import { processorSinks } from '../../handlers/processor/outputs';
import type { SensorMessage } from '../../scripts/lib/rule-record';
import { modelAws, NO_FAULTS } from '../helpers/delivery';
import { kinesisEvent, reading, type RecordInput } from '../helpers/kinesis';
import { TEST_CONFIG } from '../helpers/processor-config';

const T = Date.now() - 10_000;
/** What an honest sensor sends (its own fields only). */
const sent = (sensor: number, overrides: Record<string, unknown> = {}) => {
  const { received_at: _r, thing_name: _t, ...fields } = reading(sensor, T);
  return { ...fields, ...overrides };
};
/** The rule's record of a message from `thing`, its registry zone propagated as a user property. */
const from = (thing: number, payload: object, registryZones: string[] = [`zone-${thing % 50}`]): SensorMessage => ({
  sent: payload,
  thing: `sensor-${String(thing).padStart(5, '0')}`,
  receivedAt: T + 100,
  registryZones,
});

async function run(records: RecordInput[]) {
  const aws = modelAws(TEST_CONFIG, () => NO_FAULTS, Math.random);
  const sinks = processorSinks(TEST_CONFIG, aws.clients());
  const outcome = await processBatch(kinesisEvent(records), { getRemainingTimeInMillis: () => 30_000 }, { config: TEST_CONFIG, sinks, write: () => undefined });
  const stored = [...aws.table(TEST_CONFIG.readingsTableName).items.values()].map((i) => ({ sensor: i[READINGS_TABLE.partitionKey]!.S!, zone: i[READINGS_TABLE.zoneIndexPartitionKey]!.S!.split('#')[0] }));
  const quarantined = (aws.queues.get(TEST_CONFIG.quarantineQueueUrl) ?? []).map((m) => JSON.parse(m.body) as { reason: string; partition_key: string });
  const lake = [...aws.firehose.values()].flat().flatMap((r) => Buffer.from(r).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
  return { outcome, stored, quarantined, lake };
}

describe('a sensor that lies in its payload', () => {
  it('is quarantined when its reading names another sensor, and nothing is stored under that sensor', async () => {
    const { stored, quarantined, outcome } = await run([from(1, sent(2)), from(2, sent(2))]);
    expect(quarantined.map((q) => q.reason)).toEqual(['sensor_id "sensor-00002" does not match the publishing thing "sensor-00001"']);
    expect(stored).toEqual([{ sensor: 'sensor-00002', zone: 'zone-2' }]);
    expect(outcome).toMatchObject({ stored: 1, quarantined: 1, retried: 0 });
  });

  it("is quarantined when its reading names another zone than its thing's registry zone", async () => {
    const { stored, quarantined } = await run([from(1, sent(1, { zone_id: 'zone-7' }))]);
    expect(quarantined.map((q) => q.reason)).toEqual(['zone_id "zone-7" is not the registry zone "zone-1" of sensor "sensor-00001"']);
    expect(stored).toEqual([]);
  });

  it.each([
    ['received_at', T - 3_600_000],
    ['thing_name', 'sensor-00002'],
    ['registry_zone', 'zone-7'],
    ['registry_zones', ['zone-7']],
  ])('is quarantined when it sends a %s of its own (only IoT Core sets it)', async (key, value) => {
    const { stored, quarantined, lake } = await run([from(1, sent(1, { [key]: value }))]);
    expect(quarantined.map((q) => q.reason)).toEqual([`${key}: set by IoT Core, not by the sensor; the sensor sent ${JSON.stringify(value)}`]);
    expect(stored).toEqual([]);
    expect(lake).toEqual([]);
  });

  it('is quarantined when its message carries two tapstack:zone values (an MQTT 5 device adding its own), even when one is right', async () => {
    const { stored, quarantined } = await run([from(1, sent(1), ['zone-1', 'zone-1']), from(3, sent(3, { zone_id: 'zone-9' }), ['zone-3', 'zone-9'])]);
    expect(quarantined.map((q) => q.reason)).toEqual([
      'registry zone ambiguous for sensor "sensor-00001": 2 tapstack:zone values ("zone-1", "zone-1")',
      'registry zone ambiguous for sensor "sensor-00003": 2 tapstack:zone values ("zone-3", "zone-9")',
    ]);
    expect(stored).toEqual([]);
  });

  it('is quarantined when its thing propagates no zone (no zone attribute, or not of the sensor thing type)', async () => {
    const { stored, quarantined } = await run([{ ...from(1, sent(1)), registryZones: undefined }]);
    expect(quarantined.map((q) => q.reason)).toEqual([
      'no registry zone for sensor "sensor-00001": its thing has no zone attribute or is not of the sensor thing type',
    ]);
    expect(stored).toEqual([]);
  });

  it('cannot move its receive time: the rule stamps it, and the lake and the latency metrics use that', async () => {
    const { lake } = await run([from(1, sent(1))]);
    expect(lake).toEqual([expect.objectContaining({ sensor_id: 'sensor-00001', received_at: T + 100 })]);
  });

  it("leaves the real sensor's readings of the same batch stored, and only them", async () => {
    const lies = [
      from(9, sent(1)),
      from(9, sent(9, { zone_id: 'zone-1' })),
      from(9, sent(9, { received_at: 1 })),
      from(9, sent(9), ['zone-9', 'zone-1']),
    ];
    const { stored, quarantined, outcome } = await run([...lies, from(1, sent(1)), from(9, sent(9))]);
    expect(quarantined).toHaveLength(lies.length);
    for (const q of quarantined) expect(q.partition_key).toBe('sensor-00009');
    expect(stored.sort((a, b) => a.sensor.localeCompare(b.sensor))).toEqual([
      { sensor: 'sensor-00001', zone: 'zone-1' },
      { sensor: 'sensor-00009', zone: 'zone-9' },
    ]);
    expect(outcome).toMatchObject({ recordsIn: 6, stored: 2, quarantined: 4, retried: 0 });
  });
});
