/**
 * Phase 5, ingest: the broker with the template's sensor policy and topic rule, the rule's Kinesis
 * action (a writer into the stream) and its error action (the rule's error log group); then the
 * device of the connection file and the file itself.
 */
import { randomBytes } from 'node:crypto';
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { readConfig } from '../../../handlers/processor/config';
import { validateRecord } from '../../../handlers/processor/core/validate';
import { THING_LAYOUT } from '../../../template/layers/provisioning';
import { LogicalId } from '../../../template/names';
import { startBroker, type LocalBroker } from '../broker';
import { writeConnection, type Connection } from '../connection';
import { applyRule, compileRule } from '../iot-rules';
import { KinesisWriter } from '../kinesis-writer';
import { payloadHash, recordKey, type Entry, type ExternalReading, type Ledger } from '../ledger';
import { owned } from '../owned';
import { sensorIdentity } from '../pki';
import type { Simulation } from '../run';
import type { City } from './city';
import type { PhaseContext } from './context';
import type { SimStack } from './stack';

/** The device of the connection file by default: a thing outside the fleet, so your publishes disturb no fleet sensor. */
export const LOCAL_DEVICE = 'sensor-local';

export interface Ingest {
  broker: LocalBroker;
  writer: KinesisWriter<Entry>;
  /** The stream the rule writes to. */
  streamName: string;
  /** The credentials the fleet's connections present (over IPC, never on disk). */
  fleetCredentials: { username: string; password: string };
  refusals: Simulation['refusals'];
  takeovers: string[];
  /** Records of things outside the fleet (a device of the connection file, tests that act as an attacker), by record key, with the processor's quarantine reason when it gives one. */
  outsiders: Map<string, { thing: string; reason?: string }>;
}

export async function startIngest({ print, teardown }: PhaseContext, stack: SimStack, { pki, registry }: City, ledger: Ledger): Promise<Ingest> {
  const { view, env, physicalIds } = stack;
  // What the processor's own validation makes of a message from outside the fleet (for the books).
  const validation = readConfig(env);

  // The rule's Kinesis action and its error action (the rule's error log group).
  const streamName = physicalIds[LogicalId.ReadingsStream]!;
  const logs = new CloudWatchLogsClient(stack.aws);
  const errorLogGroup = physicalIds[view.rule.errorLogGroupResource]!;
  const errorStream = 'local-simulator';
  await logs.send(new CreateLogStreamCommand({ logGroupName: errorLogGroup, logStreamName: errorStream })).catch(() => undefined);
  let ruleErrors = 0;
  const outsiders = new Map<string, { thing: string; reason?: string }>();
  const writer = new KinesisWriter<Entry>({
    client: stack.clients.kinesis,
    streamName,
    onPut: (e, shardId, seq) => {
      const key = recordKey(shardId, seq);
      ledger.ingested(e, key);
      if (e.sensor < 0) outsiders.set(key, { thing: e.thing });
    },
    onError: (e, reason) => {
      ledger.ruleError(e);
      if (ruleErrors++ < 3) print(`rule: Kinesis action failed, error action taken: ${reason}`);
      void logs
        .send(new PutLogEventsCommand({ logGroupName: errorLogGroup, logStreamName: errorStream, logEvents: [{ timestamp: Date.now(), message: JSON.stringify({ ruleName: view.rule.ruleName, failures: [{ failedAction: 'KinesisAction', errorMessage: reason }] }) }] }))
        .catch(() => undefined);
    },
  });

  const rule = compileRule(view.rule);
  const refusals: Simulation['refusals'] = [];
  const takeovers: string[] = [];
  const fleetCredentials = { username: 'tapstack-sim-fleet', password: randomBytes(18).toString('base64url') };
  const broker = await startBroker({
    caPem: pki.caPem,
    server: pki.server,
    policy: view.policy,
    registry,
    rule,
    fleetCredentials,
    onRuleMessage: (thing, topic, payload, at, userProperties, fromFleet) => {
      // The user properties hold the registry zone the sensor thing type propagates.
      const record = applyRule(rule, topic, payload, at, userProperties);
      if (!record) return;
      let reading: ExternalReading | undefined;
      if (!fromFleet) {
        const validated = validateRecord({ sequenceNumber: '', partitionKey: record.partitionKey, data: record.data.toString('base64'), approximateArrivalMs: at, shardId: '' }, validation, at);
        reading = typeof validated === 'string' ? { valid: false } : { valid: true, timestampMs: validated.timestampMs, congestion: validated.congestion_index };
        print(`external: ${thing} published a reading from outside the fleet (${typeof validated === 'string' ? `invalid: ${validated}` : 'valid'})`);
      }
      const entry = ledger.received({ thing, hash: payloadHash(payload), receivedAt: at, fromFleet, reading });
      writer.put(record.data, record.partitionKey, entry);
    },
    onRefused: (what, thing, detail) => refusals.push({ what, thing, detail }),
    onTakeover: (clientId, by, from) => {
      const line = `client id ${clientId} taken over: a client ${by === 'fleet' ? 'of the fleet' : 'outside the fleet'} connected with it; the broker closed the ${from === 'fleet' ? "fleet's" : 'outside'} connection (IoT Core keeps one connection per client id)`;
      takeovers.push(line);
      print(`takeover: ${line}`);
    },
  });
  teardown.add(() => broker.close());
  teardown.add(() => writer.stop());
  print(`Broker on mqtts://${broker.host}:${broker.port} (mutual TLS, MQTT ${broker.mqttVersions.join(' and ')}; policy and rule ${view.rule.ruleName} from the template).`);
  return { broker, writer, streamName, fleetCredentials, refusals, takeovers, outsiders };
}

/**
 * A device for your own clients: a sensor of the fleet (its own certificate) or a thing outside
 * it, registered with a zone; and the connection file that says how to reach everything (removed
 * at teardown).
 */
export async function writeDeviceConnection({ options, environment, teardown }: PhaseContext, stack: SimStack, { layout, pki, identities, registry }: City, { broker }: Ingest): Promise<Connection> {
  const { view, moto, motos, outputs } = stack;
  const deviceId = options.device ?? LOCAL_DEVICE;
  const fleetDevice = identities.find((i) => i.sensorId === deviceId);
  const deviceZone = fleetDevice?.zoneId ?? layout.zones[0]!.zoneId;
  const deviceIdentity = fleetDevice ?? (await sensorIdentity(pki, deviceId, deviceZone, '0,0'));
  if (!fleetDevice) {
    // Registered as provisioning registers a sensor: of the sensor type, in its zone's group and the sensor group.
    registry.createThing(deviceId, {
      thingTypeName: view.policy.thingTypeName,
      attributes: { [THING_LAYOUT.attributes.zone]: deviceZone, [THING_LAYOUT.attributes.location]: '0,0' },
      groups: [deviceZone, view.policy.sensorGroup],
    });
    registry.attach(deviceId, registry.registerCertificate(deviceIdentity.certificatePem, 'ACTIVE'));
  }
  const connection = writeConnection({
    out: options.out,
    environment,
    awsEndpoint: moto.endpoint,
    dynamodbEndpoint: motos.dynamodb.endpoint,
    broker: { host: broker.host, port: broker.port, mqttVersions: broker.mqttVersions },
    caPem: pki.caPem,
    device: { thingName: deviceId, zoneId: deviceZone, keyPem: deviceIdentity.keyPem, certificatePem: deviceIdentity.certificatePem, inFleet: fleetDevice !== undefined },
    publishTopic: outputs.SensorPublishTopic!,
    outputs,
  });
  teardown.add(() => owned.removed(connection.dir));
  return connection;
}
