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
import { mayConnect, mayPublish, ruleTopic, topicMatches, type CompiledRule } from './iot-rules';
import type { KeyAndCertificate } from './pki';
import type { PolicyView } from './stack-view';

export interface BrokerOptions {
  caPem: string;
  server: KeyAndCertificate;
  policy: PolicyView;
  rule: CompiledRule;
  /** A message the rule takes: the thing that sent it, the topic, the payload, when it arrived. */
  onRuleMessage(thing: string, topic: string, payload: Buffer, receivedAtMs: number): void;
  onRefused?(what: 'connect' | 'publish', thing: string, detail: string): void;
  host?: string;
  port?: number;
}

export interface LocalBroker {
  host: string;
  port: number;
  connections(): number;
  close(): Promise<void>;
}

/** CONNACK return code 5: not authorized (MQTT 3.1.1, 3.2.2.3). */
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

  aedes.authenticate = (client, _username, _password, done) => {
    const thing = thingOf(client);
    if (!thing || !mayConnect(options.policy, thing, client.id)) {
      options.onRefused?.('connect', thing ?? '(no certificate)', `client id "${client.id}" is not allowed for thing "${thing}"`);
      return done(Object.assign(new Error(`client id ${client.id} is not the thing ${thing}`), { returnCode: NOT_AUTHORIZED }) as never, false);
    }
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
    options.onRuleMessage(thing, packet.topic, packet.payload as Buffer, Date.now());
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
    connections: () => aedes.connectedClients,
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => server.close(() => resolve()));
        setTimeout(resolve, 3_000).unref();
      }),
  };
}
