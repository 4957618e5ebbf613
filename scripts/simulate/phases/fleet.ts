/**
 * Phase 7, the fleet: a child process of its own (scripts/simulate/fleet.ts) whose settings, the
 * sensors' keys among them, go over IPC (never to disk); its reports go into the books. Killed by
 * PID at teardown.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { FleetMessage, FleetSettings } from '../fleet';
import type { Ledger } from '../ledger';
import { owned } from '../owned';
import type { City } from './city';
import type { PhaseContext } from './context';
import type { Ingest } from './ingest';
import type { SimStack } from './stack';

export interface RunningFleet {
  child: ChildProcess;
  /** Settles when the fleet has stopped (exited, or reported that it stopped). */
  done: Promise<void>;
  /** Settles when every sensor has connected (or been refused); -1 each when the fleet exited first. */
  connected: Promise<{ connected: number; refused: number }>;
}

export function forkFleet({ options, print, teardown }: PhaseContext, stack: SimStack, { pki, identities }: City, { broker, fleetCredentials }: Ingest, ledger: Ledger, startAt: number): RunningFleet {
  const settings: FleetSettings = {
    fleetCredentials,
    host: broker.host,
    port: broker.port,
    caPem: pki.caPem,
    publishTopic: stack.outputs.SensorPublishTopic!,
    sensors: identities,
    zones: options.zones,
    hz: options.hz,
    traffic: {
      scenario: options.scenario,
      thresholds: stack.thresholds,
      wavePeriodSeconds: options.wavePeriodSeconds ?? 120,
      daySeconds: options.daySeconds ?? 600,
      silentAfterSeconds: options.silentAfterSeconds ?? Math.min(30, (options.durationSeconds ?? 60) / 3),
      ...(options.weatherCondition !== undefined ? { weatherCondition: options.weatherCondition } : {}),
    },
    startAt,
  };
  let fleetStopped!: () => void;
  const done = new Promise<void>((resolve) => (fleetStopped = resolve));
  let connectedResolve!: (m: { connected: number; refused: number }) => void;
  const connected = new Promise<{ connected: number; refused: number }>((resolve) => (connectedResolve = resolve));
  // A process group of its own: a Ctrl-C in the terminal reaches the simulator, which stops the fleet itself.
  const child = fork(join(import.meta.dirname, '..', 'fleet.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
  owned.process(child.pid);
  child.send(settings);
  teardown.add(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        process.kill(child.pid!, 'SIGKILL');
      }),
  );
  child.on('exit', () => {
    owned.released(child.pid);
    fleetStopped();
  });
  child.on('message', (m: FleetMessage) => {
    if (m.type === 'published') {
      for (const [sensor, n, publishedAt, timestampMs, level, congestion, speed, bad, hash] of m.rows) {
        ledger.published({ sensor, n, hash, publishedAt, timestampMs, level: level || undefined, bad: bad || undefined, congestion, speed });
      }
    } else if (m.type === 'connected') connectedResolve(m);
    else if (m.type === 'stopped') fleetStopped();
    else if (m.type === 'error') print(`fleet: ${m.message}`);
  });
  return { child, done, connected: Promise.race([connected, done.then(() => ({ connected: -1, refused: -1 }))]) };
}

/** Waits for the fleet's sensors to connect; throws if the fleet exits first. */
export async function fleetConnected({ options, print }: PhaseContext, fleet: RunningFleet): Promise<void> {
  const c = await fleet.connected;
  if (c.connected < 0) throw new Error('the fleet process exited before its sensors connected');
  print(`${c.connected} sensors connected over mutual TLS${c.refused ? `, ${c.refused} refused` : ''} (fleet pid ${fleet.child.pid}); traffic: ${options.scenario}, ${options.hz} Hz.`);
}
