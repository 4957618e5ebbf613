/**
 * IoT Core's device gateway, locally: an aedes MQTT 3.1.1 broker behind mutual TLS (client
 * certificates signed by the local CA only) that authenticates the certificate against the local
 * registry (registered and ACTIVE) and enforces the template's sensor policy as IoT Core would
 * evaluate it for the connecting thing (client id = thing name; the certificate attached to it; its
 * thing type; the policy attached to its sensor group) — it connects only as its own thing, of this
 * environment's sensor type, and publishes only where the policy lets it — and hands every message
 * on a topic of the rule (directly or through the rule's Basic Ingest prefix) to the rule, stamped
 * with the receive time and the user properties the thing's type propagates.
 * As IoT Core does, a publish the policy denies closes the connection
 * (https://docs.aws.amazon.com/iot/latest/developerguide/iot-policies.html: unauthorized actions
 * are refused; MQTT 3.1.1 has no negative PUBACK, so the client is disconnected).
 */
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mayConnect, mayPublish, ruleTopic, topicMatches, type CompiledRule, type ConnectionContext } from './iot-rules';
import type { KeyAndCertificate } from './pki';
import type { LocalRegistry } from './registry';
import type { PolicyView } from './stack-view';

const aedesVersion = (JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('aedes')), 'package.json'), 'utf8')) as { version: string }).version;

export interface BrokerOptions {
  caPem: string;
  server: KeyAndCertificate;
  policy: PolicyView;
  registry: LocalRegistry;
  rule: CompiledRule;
  /**
   * A message the rule takes: the thing that sent it, the topic, the payload, when it arrived, its
   * user properties, and whether a fleet connection sent it.
   */
  onRuleMessage(thing: string, topic: string, payload: Buffer, receivedAtMs: number, userProperties: Record<string, string[]>, fromFleet: boolean): void;
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
  /** Whether a client of this id is connected now. */
  connected(clientId: string): boolean;
  close(): Promise<void>;
}

/** What aedes speaks: MQTT 3.1.1, and MQTT 5 from aedes 2 (package.json says which). */
const MQTT_VERSIONS = Number(aedesVersion.split('.')[0]) >= 2 ? ['3.1.1', '5'] : ['3.1.1'];

/** CONNACK return code 5: not authorized (MQTT 3.1.1, 3.2.2.3; aedes sends 0x87 Not authorized to an MQTT 5 client). */
const NOT_AUTHORIZED = 5;

/** The SHA-256 fingerprint of the client's certificate: how the registry knows it. */
const certificateOf = (client: { conn: unknown }): string | undefined => {
  const socket = client.conn as TLSSocket;
  return typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate()?.fingerprint256 : undefined;
};

export async function startBroker(options: BrokerOptions): Promise<LocalBroker> {
  // Client ids up to 128 characters, as IoT Core allows (aedes defaults to MQTT 3.1's 23).
  const aedes = await Aedes.createBroker({ maxClientsIdLength: 128, concurrency: 1000, drainTimeout: 30_000 });
  const connections = new WeakMap<object, ConnectionContext>();

  const fleet = new WeakSet<object>();
  const whose = (client: object) => (fleet.has(client) ? 'fleet' : 'outside the fleet') as 'fleet' | 'outside the fleet';
  aedes.authenticate = (client, username, password, done) => {
    const certificate = certificateOf(client);
    const context = certificate ? options.registry.connection(certificate, client.id) : 'no certificate';
    const refusal =
      typeof context === 'string'
        ? context
        : mayConnect(options.policy, context, client.id)
          ? undefined
          : `the sensor policy does not let client id "${client.id}" connect (attached: ${context.isAttached}, thing type: ${context.thingTypeName ?? 'none'})`;
    if (refusal !== undefined) {
      options.onRefused?.('connect', client.id, refusal);
      return done(Object.assign(new Error(refusal), { returnCode: NOT_AUTHORIZED }) as never, false);
    }
    const credentials = options.fleetCredentials;
    if (credentials && username === credentials.username && password?.toString() === credentials.password) fleet.add(client);
    const connected = (aedes as unknown as { clients: Record<string, object | undefined> }).clients[client.id];
    if (connected && connected !== client) options.onTakeover?.(client.id, whose(client), whose(connected));
    connections.set(client, context as ConnectionContext);
    done(null, true);
  };
  aedes.authorizePublish = (client, packet, done) => {
    const context = client ? connections.get(client) : undefined;
    if (!context || !mayPublish(options.policy, context, packet.topic)) {
      options.onRefused?.('publish', context?.thing ?? '(none)', `thing "${context?.thing}" may not publish to "${packet.topic}"`);
      return done(new Error(`not authorized to publish to ${packet.topic}`));
    }
    done(null);
  };
  // No sensor subscribes to anything in this pipeline.
  aedes.authorizeSubscribe = (_client, _subscription, done) => done(new Error('subscriptions are not part of the sensor policy'), null);
  aedes.on('publish', (packet, client) => {
    if (!client) return;
    const thing = connections.get(client)?.thing;
    if (!thing || !topicMatches(options.rule.from, ruleTopic(options.rule, packet.topic))) return;
    options.onRuleMessage(thing, packet.topic, packet.payload as Buffer, Date.now(), options.registry.propagatedProperties(thing), fleet.has(client));
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
    connected: (clientId) => (aedes as unknown as { clients: Record<string, { connected?: boolean } | undefined> }).clients[clientId]?.connected === true,
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => server.close(() => resolve()));
        setTimeout(resolve, 3_000).unref();
      }),
  };
}
