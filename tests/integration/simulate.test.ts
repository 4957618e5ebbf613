/**
 * The simulator end to end, briefly: a small fleet over mutual TLS through the broker, the rule,
 * moto's Kinesis, the emulated event source mapping and the built bundle, for a few seconds of a
 * short rush-hour wave; then clients that misbehave (another thing's client id, another sensor's
 * topic, a thing of another environment or without the sensor type, a second certificate for a
 * sensor through JITP, a sensor lying in its payload); then a run that fails on the way. Every
 * process is stopped by PID.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { connect, type MqttClient } from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import { exampleReading, SENSOR_TOPICS } from '../../contract';
import { bundleProcessor } from '../../scripts/bundle';
import { quarantine } from '../../scripts/quarantine';
import type { Connection } from '../../scripts/simulate/connection';
import { justInTimeProvision, ResourceConflictsException } from '../../scripts/simulate/jitp';
import { jitpTemplateBody, THING_LAYOUT } from '../../template/layers/provisioning';
import { simulate, type Simulation, type SimulationResult } from '../../scripts/simulate/run';
import { motoClientConfig } from '../../scripts/lib/moto';
import { BAD_KINDS } from '../../scripts/simulate/traffic';
import { owned } from '../../scripts/simulate/owned';

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

/** mosquitto_pub, as a device would run it: its exit status and what it printed. */
const mosquittoPub = (args: string[]) =>
  new Promise<{ status: number | null; output: string }>((resolve) => {
    const child = spawn('mosquitto_pub', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('close', (status) => resolve({ status, output }));
  });

describe('npm run simulate (a small fleet, a short wave)', () => {
  let result: SimulationResult;
  const pids = new Set<number>();
  const misbehaviour: {
    refusedConnect?: string;
    publishClosed?: boolean;
    refusals?: Record<string, string>;
    jitp?: string;
    realStillConnected?: boolean;
    sim?: Simulation;
    lies?: number;
  } = {};
  const split: { readings?: { dynamodb: number; other: number }; pids?: number[]; envSh?: string } = {};
  const outside: { connection?: Connection; connectionFile?: Record<string, any>; mosquitto: { status: number | null; output: string }[]; mqtt5?: string; quarantineSummary?: string[]; taken?: string } = { mosquitto: [] };

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
      // Two shards: the books tell records apart by shard and sequence number (each shard numbers its own).
      stackParameters: { BatchingWindowSeconds: '1', KinesisShardCount: '2' },
      // The health detector every 3 s instead of the template's minute.
      detectorIntervalSeconds: 3,
      // Processor containers start on their first invocation: collect PIDs as the run goes.
      onTick: (_snapshot, sim) => started(sim).forEach((p) => pids.add(p)),
      // The connection file holds a fleet sensor's own certificate: publishing with it takes that sensor's client id over.
      device: 'sensor-00003',
      onReady: async (sim) => {
        started(sim).forEach((p) => pids.add(p));
        outside.connection = sim.connection;
        outside.connectionFile = JSON.parse(readFileSync(sim.connection.file, 'utf8'));
        const { mqtt: broker, device: exported } = outside.connectionFile!;
        outside.taken = exported.thingName;
        // mosquitto_pub with the exported certificate and the sensor's client id, as a device: one valid reading, one invalid.
        const reading = (timestamp: string) => JSON.stringify(exampleReading({ sensor_id: exported.thingName, zone_id: exported.zoneId, timestamp, vehicle_count: 14, avg_speed: 38.5, congestion_index: 42 }));
        for (const timestamp of [new Date().toISOString(), '2026-02-30T10:00:00.000Z']) {
          outside.mosquitto.push(
            await mosquittoPub(['-h', broker.host, '-p', String(broker.port), '-V', 'mqttv311', '-q', '1', '-i', exported.clientId, '--cafile', broker.caFile, '--cert', exported.certificateFile, '--key', exported.privateKeyFile, '-t', exported.topic, '-m', reading(timestamp)]),
          );
        }
        // Things the registry knows, with a certificate attached (as provisioning leaves them).
        const { registry } = sim;
        const { thingTypeName, sensorGroup } = sim.view.policy;
        const thingOf = async (name: string, thingType: string | undefined) => {
          const identity = await sim.issueIdentity(name, 'zone-00');
          registry.createThing(name, { thingTypeName: thingType, attributes: { [THING_LAYOUT.attributes.zone]: 'zone-00' }, groups: ['zone-00', sensorGroup] });
          registry.attach(name, registry.registerCertificate(identity.certificatePem, 'ACTIVE'));
          return identity;
        };
        const stranger = await thingOf('sensor-stranger', thingTypeName);
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
        // An MQTT 5 client (the mqtt package directly, not the fleet's code) outside the fleet, to its own topic: a valid reading.
        const v5 = connect({ protocol: 'mqtts', host: sim.broker.host, port: sim.broker.port, protocolVersion: 5, clientId: 'sensor-stranger', ca: sim.pki.caPem, key: stranger.keyPem, cert: stranger.certificatePem, reconnectPeriod: 0 });
        outside.mqtt5 = await new Promise<string>((resolve) => {
          v5.once('error', (e) => resolve(`error: ${e.message}`));
          v5.once('connect', () =>
            v5.publish(SENSOR_TOPICS.basicIngestTopic('simtest', 'sensor-stranger'), JSON.stringify(exampleReading({ sensor_id: 'sensor-stranger', zone_id: 'zone-00', timestamp: new Date().toISOString(), vehicle_count: 3, avg_speed: 50, congestion_index: 10 })), { qos: 1 }, (e) => resolve(e ? `error: ${e.message}` : 'acknowledged')),
          );
        });
        v5.end(true);
        // npm run quarantine reads real messages while the pipeline runs: the simulator does not drain the queue.
        for (let i = 0; i < 60 && sim.ledger.totals.quarantined === 0; i++) await new Promise((r) => setTimeout(r, 500));
        const lines: string[] = [];
        await quarantine(['--env', 'simtest'], { target: { region: 'us-east-1', endpoint: sim.moto.endpoint }, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, print: (l) => lines.push(l) });
        outside.quarantineSummary = lines;
        // DynamoDB from a moto of its own: the stack's tables there, the first moto's copies (its CreateStack made them) unused.
        const count = (endpoint: string, table: string) =>
          new DynamoDBClient(motoClientConfig(endpoint)).send(new ScanCommand({ TableName: table, Select: 'COUNT' })).then((r) => r.Count ?? 0);
        const readingsTable = outside.connectionFile!.outputs.ReadingsTableName ?? 'tapstack-simtest-readings';
        split.readings = { dynamodb: await count(sim.dynamodb.endpoint, readingsTable), other: await count(sim.moto.endpoint, readingsTable) };
        split.pids = [sim.moto.pid, sim.dynamodb.pid];
        split.envSh = readFileSync(join(sim.connection.dir, 'env.sh'), 'utf8');

        // Things with a certificate attached that the policy still refuses.
        const refusal = async (name: string, identity: { keyPem: string; certificatePem: string }) => {
          const result = await device(sim, name, identity);
          if (!(result instanceof Error)) result.end(true);
          return result instanceof Error ? result.message : 'connected';
        };
        misbehaviour.refusals = {
          otherEnvironment: await refusal('sensor-prod-1', await thingOf('sensor-prod-1', 'tapstack-prod-sensor')),
          noThingType: await refusal('sensor-untyped', await thingOf('sensor-untyped', undefined)),
        };

        // A second certificate the CA signed for a real sensor: JITP refuses it, so it cannot take the sensor's place.
        const real = sim.identities[2]!;
        const second = await sim.issueIdentity(real.sensorId, 'zone-01');
        try {
          justInTimeProvision(registry, jitpTemplateBody({ thingTypeName, sensorGroup }), second.certificatePem);
          misbehaviour.jitp = 'provisioned';
        } catch (error) {
          misbehaviour.jitp = error instanceof ResourceConflictsException ? 'conflict' : (error as Error).message;
        }
        misbehaviour.refusals.secondCertificate = await refusal(real.sensorId, second);
        misbehaviour.realStillConnected = sim.broker.connected(real.sensorId);

        // A sensor of this environment that lies in what it publishes.
        const liar = await thingOf('sensor-liar', thingTypeName);
        const client2 = await device(sim, 'sensor-liar', liar);
        if (client2 instanceof Error) throw client2;
        const at = new Date().toISOString();
        const honest = exampleReading({ sensor_id: 'sensor-liar', zone_id: 'zone-00', timestamp: at, vehicle_count: 3, avg_speed: 40, congestion_index: 20 });
        const lies = [
          { ...honest, sensor_id: 'sensor-ghost' },
          { ...honest, zone_id: 'zone-01' },
          { ...honest, received_at: Date.now() - 3_600_000 },
          { ...honest, thing_name: 'sensor-ghost' },
          { ...honest, registry_zone: 'zone-01' },
        ];
        const topic = SENSOR_TOPICS.basicIngestTopic('simtest', 'sensor-liar');
        for (const lie of lies) await client2.publishAsync(topic, JSON.stringify(lie), { qos: 1 });
        client2.end(true);
        misbehaviour.lies = lies.length;
        misbehaviour.sim = sim;
      },
    });
  }, 240_000);

  it('accounts for every reading, the fleet\'s and those from outside it: stored in DynamoDB or quarantined, none in flight, none lost', () => {
    const t = result.summary.totals;
    expect(t.published).toBeGreaterThan(100);
    expect(t.inFlight).toBe(0);
    expect(t.lost).toBe(0);
    expect(t.ruleErrors).toBe(0);
    expect(t.stored + t.quarantined + t.notReceived).toBe(t.published + t.external);
    expect(result.summary.misplaced).toEqual([]);
  });

  it('counts readings a real MQTT client published (mosquitto_pub, the mqtt package over MQTT 5) as external, stored or quarantined like any other', () => {
    expect(outside.mosquitto.map((m) => m.status), outside.mosquitto.map((m) => m.output).join('\n')).toEqual([0, 0]);
    expect(outside.mqtt5).toBe('acknowledged');
    const { external } = result.summary;
    // Two from mosquitto_pub, one from the MQTT 5 client, and the lies of sensor-liar (a thing outside the fleet).
    expect(external.byKind['outside the fleet']).toBe(3 + misbehaviour.lies!);
    expect(external.stored).toBe(2);
    expect(external.quarantined).toBe(1 + misbehaviour.lies!);
    expect(result.summary.quarantinedByReason['timestamp: not a valid date']).toBeGreaterThanOrEqual(1);
  });

  it('reports the takeover of a fleet sensor\'s client id as such, and loses none of that sensor\'s readings', () => {
    expect(result.summary.takeovers.length).toBeGreaterThanOrEqual(1);
    expect(result.summary.takeovers[0]).toMatch(new RegExp(`^client id ${outside.taken} taken over: a client outside the fleet connected with it; the broker closed the fleet's connection`));
    expect(result.summary.lostSamples).toEqual([]);
  });

  it('writes a connection file your own tools can use, and removes it (and the device key) at the end', () => {
    const file = outside.connectionFile!;
    expect(file.aws).toMatchObject({ region: 'us-east-1', accessKeyId: 'testing', secretAccessKey: 'testing', stackName: 'tapstack-simtest', endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    expect(file.mqtt).toMatchObject({ host: '127.0.0.1', port: expect.any(Number), mqttVersions: ['3.1.1', '5'] });
    expect(file.device).toMatchObject({ thingName: 'sensor-00003', inFleet: true, topic: SENSOR_TOPICS.basicIngestTopic('simtest', 'sensor-00003') });
    expect(file.outputs.QuarantineQueueUrl).toMatch(/tapstack-simtest-quarantine\.fifo$/);
    expect(outside.connection!.lines.join('\n')).toMatch(/mosquitto_pub -h 127\.0\.0\.1 -p \d+ -V mqttv5 .*--cert .*sensor-00003\.cert\.pem/);
    expect(outside.connection!.lines.join('\n')).toMatch(/aws dynamodb query --table-name tapstack-simtest-readings/);
    expect(existsSync(outside.connection!.dir)).toBe(false);
  });

  it('answers DynamoDB from a second moto, where CreateStack made the stack\'s tables: the readings are there, the first moto\'s copies empty, env.sh points the CLI at it', () => {
    expect(split.readings!.dynamodb).toBeGreaterThan(0);
    expect(split.readings!.other).toBe(0);
    expect(new Set(split.pids).size).toBe(2);
    expect(split.envSh).toMatch(/^export AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+$/m);
    expect(split.envSh).toMatch(/^export AWS_ENDPOINT_URL_DYNAMODB=http:\/\/127\.0\.0\.1:\d+$/m);
    expect(outside.connectionFile!.aws.dynamodbEndpoint).not.toBe(outside.connectionFile!.aws.endpoint);
    expect([...result.summary.stoppedPids.moto!, ...result.summary.stoppedPids['moto (DynamoDB)']!].sort()).toEqual([...split.pids!].sort());
  });

  it('leaves the quarantine to npm run quarantine: it reads real messages, and the queue holds every quarantined reading', () => {
    expect(outside.quarantineSummary![0]).toMatch(/^tapstack-simtest-quarantine\.fifo: \d+ quarantined readings?, arrived /);
    expect(result.summary.quarantineQueueDepth).toBe(result.summary.totals.quarantined);
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

  it('runs the silent-sensor detector on a schedule: it keeps a health item for every sensor it has seen', () => {
    expect(result.summary.health.detectorRuns).toBeGreaterThanOrEqual(2);
    // Every sensor with a stored window: all but the broken one (it sends only bad readings); the silent one reported before it went silent.
    expect(result.summary.health.healthItems).toBeGreaterThanOrEqual(10);
  });

  it('names its slowest invocations, slowest first, with the container start of a lane first invoked', () => {
    const { invocation, invocations, coldStarts } = result.summary;
    expect(invocation.slowest.length).toBe(Math.min(5, invocations));
    expect(invocation.slowest.map((i) => i.ms)).toEqual([...invocation.slowest.map((i) => i.ms)].sort((a, b) => b - a));
    expect(invocation.slowest[0]!.ms).toBe(invocation.maxMs);
    for (const i of invocation.slowest) {
      expect(i.atSeconds).toBeGreaterThanOrEqual(0);
      expect(i.records).toBeGreaterThan(0);
      if (i.coldStartInitMs !== undefined) expect(i.coldStartInitMs).toBeLessThanOrEqual(i.ms);
    }
    expect(coldStarts).toBeGreaterThanOrEqual(1);
  });

  it("refuses a thing of another environment, a thing without the sensor type, and a sensor's second certificate (JITP refuses it); the real sensor stays connected", () => {
    expect(misbehaviour.refusals).toEqual({ otherEnvironment: expect.stringMatching(/Not authorized/i), noThingType: expect.stringMatching(/Not authorized/i), secondCertificate: expect.stringMatching(/Not authorized/i) });
    expect(misbehaviour.jitp).toBe('conflict');
    expect(misbehaviour.realStillConnected).toBe(true);
    const refused = misbehaviour.sim!.refusals.filter((r) => r.what === 'connect').map((r) => `${r.thing}: ${r.detail}`);
    expect(refused).toEqual(
      expect.arrayContaining([
        'sensor-prod-1: the sensor policy does not let client id "sensor-prod-1" connect (attached: true, thing type: tapstack-prod-sensor)',
        'sensor-untyped: the sensor policy does not let client id "sensor-untyped" connect (attached: true, thing type: none)',
        `${misbehaviour.sim!.identities[2]!.sensorId}: certificate pending activation`,
      ]),
    );
  });

  it('quarantines every lie a sensor of this environment publishes, each with its reason (none is stored)', () => {
    const reasons = [...misbehaviour.sim!.outsiders.values()].filter((o) => o.thing === 'sensor-liar').map((o) => o.reason);
    expect(reasons).toHaveLength(misbehaviour.lies!);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'sensor_id "sensor-ghost" does not match the publishing thing "sensor-liar"',
        'zone_id "zone-01" is not the registry zone "zone-00" of sensor "sensor-liar"',
        expect.stringMatching(/^received_at: set by IoT Core, not by the sensor; the sensor sent \d+$/),
        'thing_name: set by IoT Core, not by the sensor; the sensor sent "sensor-ghost"',
        'registry_zone: set by IoT Core, not by the sensor; the sensor sent "zone-01"',
      ]),
    );
  });

  it('stops every process it started', () => {
    // moto, the fleet and at least one processor container.
    expect(pids.size).toBeGreaterThanOrEqual(3);
    expect([...pids].filter(alive)).toEqual([]);
    expect(Object.values(result.summary.stoppedPids).flat().filter(alive)).toEqual([]);
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

  it('stops what the earlier phases started when a later phase fails: moto, the broker, every owned process (here the connection file cannot be written)', async () => {
    const lines: string[] = [];
    const notADirectory = join(mkdtempSync(join(tmpdir(), 'tapstack-sim-fail-')), 'a-file');
    writeFileSync(notADirectory, '');
    try {
      await expect(
        simulate({ sensors: 2, zones: 1, hz: 1, durationSeconds: 5, scenario: 'steady', environment: 'simfail2', out: join(notADirectory, 'connection'), print: (line) => lines.push(line) }),
      ).rejects.toThrow(/ENOTDIR/);
      const printed = lines.join('\n');
      // The stack phase printed both moto PIDs, the ingest phase the broker's port, before the failure.
      const motoPids = [...printed.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
      expect(motoPids).toHaveLength(2);
      expect(motoPids.filter(alive)).toEqual([]);
      const brokerPort = Number(/Broker on mqtts:\/\/[^:]+:(\d+)/.exec(printed)![1]);
      await expect(
        new Promise((resolve, reject) => {
          const socket = netConnect(brokerPort, '127.0.0.1', () => {
            socket.destroy();
            resolve('still listening');
          });
          socket.once('error', reject);
        }),
      ).rejects.toThrow(/ECONNREFUSED/);
      expect(owned.list().pids).toEqual([]);
    } finally {
      rmSync(dirname(notADirectory), { recursive: true, force: true });
    }
  }, 180_000);
});
