/**
 * The simulator end to end, briefly: a small fleet over mutual TLS through the broker, the rule,
 * moto's Kinesis, the emulated event source mapping and the built bundle, for a few seconds of a
 * short rush-hour wave; then a client that misbehaves (another thing's client id, another
 * sensor's topic); then a run that fails on the way. Every process is stopped by PID.
 */
import { connect, type MqttClient } from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import { SENSOR_TOPICS } from '../../contract';
import { bundleProcessor } from '../../scripts/bundle';
import { simulate, type Simulation, type SimulationResult } from '../../scripts/simulate/run';
import { BAD_KINDS } from '../../scripts/simulate/traffic';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const started = (sim: Simulation) =>
  Object.entries(sim.pids()).flatMap(([, pids]) => pids.filter((p) => p !== process.pid));

/** Connects a device; answers the CONNACK refusal or the client, once connected. */
function device(sim: Simulation, clientId: string, identity: { keyPem: string; certificatePem: string }): Promise<MqttClient | Error> {
  return new Promise((resolve) => {
    const client = connect({
      protocol: 'mqtts',
      host: sim.broker.host,
      port: sim.broker.port,
      protocolVersion: 4,
      clientId,
      ca: sim.pki.caPem,
      key: identity.keyPem,
      cert: identity.certificatePem,
      reconnectPeriod: 0,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (error) => {
      client.end(true);
      resolve(error);
    });
  });
}

describe('npm run simulate (a small fleet, a short wave)', () => {
  let result: SimulationResult;
  const pids = new Set<number>();
  const misbehaviour: { refusedConnect?: string; publishClosed?: boolean } = {};

  beforeAll(async () => {
    await bundleProcessor();
    result = await simulate({
      sensors: 12,
      zones: 3,
      hz: 2,
      durationSeconds: 12,
      scenario: 'rush-hour',
      environment: 'simtest',
      // One wave in 10 s; batches every second.
      wavePeriodSeconds: 10,
      stackParameters: { BatchingWindowSeconds: '1' },
      // Processor containers start on their first invocation: collect PIDs as the run goes.
      onTick: (_snapshot, sim) => started(sim).forEach((p) => pids.add(p)),
      onReady: async (sim) => {
        started(sim).forEach((p) => pids.add(p));
        const stranger = await sim.issueIdentity('sensor-stranger', 'zone-00');
        // A certificate of one thing, the client id of another: CONNACK "not authorized".
        const refused = await device(sim, sim.identities[0]!.sensorId, stranger);
        misbehaviour.refusedConnect = refused instanceof Error ? refused.message : 'connected';
        if (!(refused instanceof Error)) refused.end(true);
        // Its own identity, another sensor's topic: the broker closes the connection.
        const client = await device(sim, 'sensor-stranger', stranger);
        if (client instanceof Error) throw client;
        const closed = new Promise<boolean>((resolve) => {
          client.once('close', () => resolve(true));
          setTimeout(() => resolve(false), 10_000);
        });
        client.publish(SENSOR_TOPICS.basicIngestTopic('simtest', sim.identities[1]!.sensorId), '{"sensor_id":"x"}', { qos: 1 });
        misbehaviour.publishClosed = await closed;
        client.end(true);
      },
    });
  }, 240_000);

  it('accounts for every published reading: stored in DynamoDB or quarantined, none in flight, none lost', () => {
    const t = result.summary.totals;
    expect(t.published).toBeGreaterThan(100);
    expect(t.inFlight).toBe(0);
    expect(t.lost).toBe(0);
    expect(t.stored + t.quarantined).toBe(t.published);
    expect(result.summary.misplaced).toEqual([]);
  });

  it('quarantines every kind of bad reading the broken sensor sent, with its reason', () => {
    const { sent, quarantined } = result.summary.badReadings;
    expect(Object.keys(sent).sort()).toEqual([...BAD_KINDS].sort());
    expect(quarantined).toEqual(sent);
    expect(Object.keys(result.summary.quarantinedByReason)).toEqual(
      expect.arrayContaining(['not JSON', 'congestion_index: missing', 'oversize: N bytes', 'timestamp: N s in the future', 'sensor_id … does not match the publishing thing …', 'zone_id … is not the registry zone … of sensor …']),
    );
  });

  it('delivers exactly the transitions the wave caused: none missed, none unexpected', () => {
    const a = result.summary.alerts;
    // The wave: NORMAL → WARNING → CRITICAL → WARNING (inside the cooldown: suppressed) → NORMAL, for each sensor of one zone.
    expect(a.expected).toBeGreaterThanOrEqual(9);
    expect(a.missed).toBe(0);
    expect(a.unexpected).toBe(0);
    expect(a.received).toBe(a.expected);
  });

  it('refuses a client id that is not the certificate’s thing, and a publish to another sensor’s topic', () => {
    expect(misbehaviour.refusedConnect).toMatch(/Not authorized/i);
    expect(misbehaviour.publishClosed).toBe(true);
  });

  it('stops every process it started', () => {
    // moto, the fleet and at least one processor container.
    expect(pids.size).toBeGreaterThanOrEqual(3);
    expect([...pids].filter(alive)).toEqual([]);
  });
});

describe('npm run simulate when something fails on the way', () => {
  it('still stops every process it started', async () => {
    let pids: number[] = [];
    await expect(
      simulate({
        sensors: 2,
        zones: 1,
        hz: 1,
        durationSeconds: 5,
        scenario: 'steady',
        environment: 'simfail',
        onReady: async (sim) => {
          pids = started(sim);
          throw new Error('failing on purpose');
        },
      }),
    ).rejects.toThrow('failing on purpose');
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(pids.filter(alive)).toEqual([]);
  }, 180_000);
});
