/**
 * IoT Core's device gateway, locally: an aedes MQTT 3.1.1 broker behind mutual TLS (client
 * certificates signed by the local CA only) that enforces the template's sensor policy — a client
 * connects only with its own thing name as client id (thing = certificate CN) and publishes only
 * where the policy lets its thing — and hands every message on a topic of the rule (directly or
 * through the rule's Basic Ingest prefix) to the rule, stamped with the receive time.
 * As IoT Core does, a publish the policy denies closes the connection
 * (https://docs.aws.amazon.com/iot/latest/developerguide/iot-policies.html: unauthorized actions
 * are refused; MQTT 3.1.1 has no negative PUBACK, so the client is disconnected).
 */
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mayConnect, mayPublish, ruleTopic, topicMatches, type CompiledRule } from './iot-rules';
import type { KeyAndCertificate } from './pki';
import type { PolicyView } from './stack-view';

const aedesVersion = (JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('aedes')), 'package.json'), 'utf8')) as { version: string }).version;

export interface BrokerOptions {
  caPem: string;
  server: KeyAndCertificate;
  policy: PolicyView;
  rule: CompiledRule;
  /** A message the rule takes: the thing that sent it, the topic, the payload, when it arrived, and whether a fleet connection sent it. */
  onRuleMessage(thing: string, topic: string, payload: Buffer, receivedAtMs: number, fromFleet: boolean): void;
  onRefused?(what: 'connect' | 'publish', thing: string, detail: string): void;
  /**
   * A client connected with the client id of a client still connected, which the broker then
   * disconnects (IoT Core does the same: one connection per client id): who took over whom.
   */
  onTakeover?(clientId: string, by: 'fleet' | 'outside the fleet', from: 'fleet' | 'outside the fleet'): void;
  /** The MQTT credentials that mark the simulator's own fleet connections (devices send none). */
  fleetCredentials?: { username: string; password: string };
  host?: string;
  port?: number;
}

export interface LocalBroker {
  host: string;
  port: number;
  /** The MQTT versions it speaks ('3.1.1', '5'). */
  mqttVersions: string[];
  connections(): number;
  close(): Promise<void>;
}

/** What aedes speaks: MQTT 3.1.1, and MQTT 5 from aedes 2 (package.json says which). */
const MQTT_VERSIONS = Number(aedesVersion.split('.')[0]) >= 2 ? ['3.1.1', '5'] : ['3.1.1'];

/** CONNACK return code 5: not authorized (MQTT 3.1.1, 3.2.2.3; aedes sends 0x87 Not authorized to an MQTT 5 client). */
const NOT_AUTHORIZED = 5;

const thingOf = (client: { conn: unknown }): string | undefined => {
  const socket = client.conn as TLSSocket;
  const cn = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate()?.subject?.CN : undefined;
  return Array.isArray(cn) ? undefined : cn; // several CNs: not a thing's certificate
};

export async function startBroker(options: BrokerOptions): Promise<LocalBroker> {
  // Client ids up to 128 characters, as IoT Core allows (aedes defaults to MQTT 3.1's 23).
  const aedes = await Aedes.createBroker({ maxClientsIdLength: 128, concurrency: 1000, drainTimeout: 30_000 });
  const things = new WeakMap<object, string>();

  const fleet = new WeakSet<object>();
  const whose = (client: object) => (fleet.has(client) ? 'fleet' : 'outside the fleet') as 'fleet' | 'outside the fleet';
  aedes.authenticate = (client, username, password, done) => {
    const thing = thingOf(client);
    if (!thing || !mayConnect(options.policy, thing, client.id)) {
      options.onRefused?.('connect', thing ?? '(no certificate)', `client id "${client.id}" is not allowed for thing "${thing}"`);
      return done(Object.assign(new Error(`client id ${client.id} is not the thing ${thing}`), { returnCode: NOT_AUTHORIZED }) as never, false);
    }
    const credentials = options.fleetCredentials;
    if (credentials && username === credentials.username && password?.toString() === credentials.password) fleet.add(client);
    const connected = (aedes as unknown as { clients: Record<string, object | undefined> }).clients[client.id];
    if (connected && connected !== client) options.onTakeover?.(client.id, whose(client), whose(connected));
    things.set(client, thing);
    done(null, true);
  };
  aedes.authorizePublish = (client, packet, done) => {
    const thing = client ? things.get(client) : undefined;
    if (!thing || !mayPublish(options.policy, thing, packet.topic)) {
      options.onRefused?.('publish', thing ?? '(none)', `thing "${thing}" may not publish to "${packet.topic}"`);
      return done(new Error(`not authorized to publish to ${packet.topic}`));
    }
    done(null);
  };
  // No sensor subscribes to anything in this pipeline.
  aedes.authorizeSubscribe = (_client, _subscription, done) => done(new Error('subscriptions are not part of the sensor policy'), null);
  aedes.on('publish', (packet, client) => {
    if (!client) return;
    const thing = things.get(client);
    if (!thing || !topicMatches(options.rule.from, ruleTopic(options.rule, packet.topic))) return;
    options.onRuleMessage(thing, packet.topic, packet.payload as Buffer, Date.now(), fleet.has(client));
  });

  const server: Server = createServer(
    { key: options.server.keyPem, cert: options.server.certificatePem, ca: options.caPem, requestCert: true, rejectUnauthorized: true },
    aedes.handle as never,
  );
  server.on('tlsClientError', () => undefined);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host,
    port,
    mqttVersions: MQTT_VERSIONS,
    connections: () => aedes.connectedClients,
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => server.close(() => resolve()));
        setTimeout(resolve, 3_000).unref();
      }),
  };
}
