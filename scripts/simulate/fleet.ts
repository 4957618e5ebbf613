/**
 * The sensor fleet, in its own process (so its CPU is measured apart from the broker's): one MQTT
 * 3.1.1 client per sensor over mutual TLS with the sensor's own certificate, client id = thing
 * name, publishing its readings (QoS 1) to its own topic at the fleet's rate. Started by fork();
 * its settings (the sensors' keys among them) come over IPC, never through a file; it reports what
 * it published to the parent over IPC, each reading with the hash of its payload (what ties the
 * message the broker takes to this reading), and stops when the parent goes away.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { prng } from '../lib/prng';
import { payloadHash } from './ledger';
import { reading, type BadKind, type Level, type SensorSpec, type TrafficOptions } from './traffic';

export interface FleetSensor extends SensorSpec {
  keyPem: string;
  certificatePem: string;
}

export interface FleetSettings {
  /** Connect with these MQTT credentials: they tell the broker a connection is the fleet's (a real device sends none). */
  fleetCredentials: { username: string; password: string };
  host: string;
  port: number;
  caPem: string;
  /** The topic a sensor publishes to, with `+` for its thing name. */
  publishTopic: string;
  sensors: FleetSensor[];
  zones: number;
  hz: number;
  traffic: TrafficOptions;
  /** Epoch ms the run's clock starts at (t = 0). */
  startAt: number;
}

/** One published reading, as reported to the parent: [sensor index, n, publishedAt, timestampMs|0, level|'', congestion, speed, bad kind|'', payload hash]. */
export type PublishedRow = [number, number, number, number, Level | '', number, number, BadKind | '', string];

export type FleetMessage =
  | { type: 'connected'; connected: number; refused: number }
  | { type: 'published'; rows: PublishedRow[] }
  | { type: 'error'; message: string }
  /** Sent last: every published row has been reported. */
  | { type: 'stopped' };

/** Connections opened at once while the fleet connects (a burst of thousands of TLS handshakes stalls the broker). */
const CONNECT_BURST = 50;

async function main(settings: FleetSettings): Promise<void> {
  const send = (m: FleetMessage) => process.send?.(m);
  const clients: (MqttClient | undefined)[] = [];
  let connected = 0;
  let refused = 0;
  let rows: PublishedRow[] = [];

  const connect = (s: FleetSensor) =>
    new Promise<void>((resolve) => {
      const client = mqtt.connect({
        protocol: 'mqtts',
        host: settings.host,
        port: settings.port,
        protocolVersion: 4,
        clientId: s.sensorId,
        username: settings.fleetCredentials.username,
        password: settings.fleetCredentials.password,
        ca: settings.caPem,
        key: s.keyPem,
        cert: s.certificatePem,
        rejectUnauthorized: true,
        reconnectPeriod: 1000,
        connectTimeout: 30_000,
        keepalive: 60,
        clean: true,
      });
      clients[s.index] = client;
      client.once('connect', () => {
        connected++;
        resolve();
      });
      client.once('error', (error) => {
        refused++;
        send({ type: 'error', message: `${s.sensorId}: ${error.message}` });
        resolve();
      });
    });
  for (let i = 0; i < settings.sensors.length; i += CONNECT_BURST) {
    await Promise.all(settings.sensors.slice(i, i + CONNECT_BURST).map(connect));
  }
  send({ type: 'connected', connected, refused });

  const periodMs = 1000 / settings.hz;
  const counts = new Array<number>(settings.sensors.length).fill(0);
  const randoms = settings.sensors.map((s) => prng(1000 + s.index));
  // Each sensor publishes at its own phase of the period, so the fleet's load is even.
  const nextAt = settings.sensors.map((s) => Math.max(Date.now(), settings.startAt) + (s.index / settings.sensors.length) * periodMs);
  const topicOf = (thing: string) => settings.publishTopic.replace('+', thing);

  const tick = () => {
    const now = Date.now();
    for (const s of settings.sensors) {
      if (nextAt[s.index]! > now) continue;
      nextAt[s.index]! += periodMs;
      if (nextAt[s.index]! < now) nextAt[s.index] = now + periodMs; // fell behind: skip, never burst
      const t = (now - settings.startAt) / 1000;
      if (s.kind === 'silent' && t >= settings.traffic.silentAfterSeconds) continue;
      const client = clients[s.index];
      if (!client?.connected) continue;
      const n = ++counts[s.index]!;
      const r = reading(s, settings.zones, settings.traffic, t, now, n, randoms[s.index]!);
      client.publish(topicOf(s.sensorId), r.payload, { qos: 1 });
      rows.push([s.index, n, now, r.bad ? 0 : now, r.level ?? '', r.congestion ?? 0, r.speed ?? 0, r.bad ?? '', payloadHash(r.payload)]);
    }
  };
  const timer = setInterval(tick, Math.max(5, Math.min(50, periodMs / 4)));
  const reporter = setInterval(() => {
    if (rows.length === 0) return;
    send({ type: 'published', rows });
    rows = [];
  }, 200);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    clearInterval(reporter);
    const last = rows;
    rows = [];
    const exit = () => process.exit(0);
    const endClients = () => {
      let open = clients.filter(Boolean).length;
      if (open === 0) return exit();
      for (const c of clients) c?.end(false, {}, () => --open === 0 && exit());
      setTimeout(exit, 3_000).unref();
    };
    if (!process.connected) return endClients();
    process.send!({ type: 'published', rows: last } satisfies FleetMessage, () =>
      process.send!({ type: 'stopped' } satisfies FleetMessage, () => endClients()),
    );
  };
  process.on('message', (m: { type?: string }) => m.type === 'stop' && stop());
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // The settings are the parent's first message; without a parent (it died) the fleet stops.
  process.once('message', (settings: FleetSettings) => {
    main(settings).catch((error: Error) => {
      process.send?.({ type: 'error', message: error.stack ?? error.message } satisfies FleetMessage);
      process.exit(1);
    });
  });
  process.once('disconnect', () => process.exit(0));
}
