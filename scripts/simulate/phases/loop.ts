/**
 * Phase 8, the loop: the background rounds of the books (verification, the alert and health
 * queues), the once-a-second tick (settling, the panel's snapshot, CPU, the PIDs seen), the run
 * until its duration or an abort, then the drain of readings in flight and the last look.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { ENV } from '../../../contract';
import { LogicalId } from '../../../template/names';
import type { Ledger } from '../ledger';
import type { LocalConsole } from '../local-console';
import { CpuMeter } from '../cpu';
import type { Simulation } from '../run';
import type { Bookkeeper } from './books';
import { sleep, type PhaseContext } from './context';
import type { Ingest } from './ingest';
import type { Processing } from './processing';
import type { RunningFleet } from './fleet';
import type { SimStack } from './stack';

export const THIS_PROCESS = 'broker+rule+poller (this process)';

export interface Loops {
  cpu: CpuMeter;
  /** The PIDs of every process the simulation runs now, by role. */
  roles(): Record<string, number[]>;
  /** Adds the PIDs running now to those seen. */
  notePids(): void;
  /** Every PID seen in the run, by role (this process left out). */
  seenPids(): Record<string, number[]>;
  /** Ends the background rounds (the tick runs on until teardown); settles when their last round has. */
  stop(): Promise<void>;
}

/** The background rounds and the tick; `fleetPid` and `simulation` are read at each tick (the fleet starts after the loops). */
export function startLoops(
  { options, print, teardown }: PhaseContext,
  { motos, moto }: SimStack,
  { pool, detector }: Processing,
  localConsole: LocalConsole,
  ledger: Ledger,
  books: Bookkeeper,
  { fleetPid, simulation }: { fleetPid: () => number | undefined; simulation: () => Simulation },
): Loops {
  let running = true;
  const cpu = new CpuMeter();
  const roles = () => {
    const fleet = fleetPid();
    return {
      [THIS_PROCESS]: [process.pid],
      fleet: fleet ? [fleet] : [],
      // With two processes, each its own role (a PID counts in one role only): 'moto' and 'moto (DynamoDB)'.
      moto: [moto.pid],
      ...(motos.processes === 2 ? { 'moto (DynamoDB)': [motos.dynamodb.pid] } : {}),
      processor: [...pool.pids().values()],
      detector: [...detector.pool.pids().values()],
      'console API': localConsole.pids(),
    };
  };
  const loops = [
    (async () => {
      while (running) {
        await books.verifyRound().catch((e: Error) => print(`verify: ${e.message}`));
        await sleep(500);
      }
    })(),
    (async () => {
      while (running) {
        await books.pollAlerts().catch((e: Error) => print(`alerts: ${e.message}`));
        await books.pollHealth().catch((e: Error) => print(`health events: ${e.message}`));
        await sleep(500);
      }
    })(),
  ];
  // Every process the run started, by role: all are stopped by PID before simulate() returns.
  const seen: Record<string, Set<number>> = {};
  const notePids = () => {
    for (const [role, pids] of Object.entries(roles())) if (role !== THIS_PROCESS) for (const pid of pids) (seen[role] ??= new Set()).add(pid);
  };
  const ticker = setInterval(() => {
    notePids();
    // A message from a fleet connection no fleet report claimed within 10 s is a second copy (QoS 1 resend).
    ledger.settle(Date.now(), 10_000);
    ledger.tick(Date.now());
    cpu.sample(roles());
    options.onTick?.(ledger.snapshot(Date.now()), simulation());
  }, 1000);
  teardown.add(() => clearInterval(ticker));
  return {
    cpu,
    roles,
    notePids,
    seenPids: () => Object.fromEntries(Object.entries(seen).map(([role, pids]) => [role, [...pids]])),
    stop: () => {
      running = false;
      return Promise.all(loops).then(() => undefined);
    },
  };
}

/** Runs until the duration, an abort or the fleet's end; returns the seconds of traffic since `startedAt`. */
export async function runTraffic({ options }: PhaseContext, fleet: RunningFleet, startedAt: number): Promise<number> {
  await new Promise<void>((resolve) => {
    const timer = options.durationSeconds !== undefined ? setTimeout(resolve, options.durationSeconds * 1000) : undefined;
    options.signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
    void fleet.done.then(resolve);
  });
  return (Date.now() - startedAt) / 1000;
}

/**
 * Stops the fleet and waits for readings in flight to land (also after a Ctrl-C: the books are
 * only honest once they have; a second Ctrl-C quits at once), then ends the background rounds,
 * lets invocations in flight finish and takes the last look.
 */
export async function drainAndLook(
  { options, print }: PhaseContext,
  { view, fn }: SimStack,
  fleet: RunningFleet,
  { writer }: Ingest,
  { pollers }: Processing,
  ledger: Ledger,
  books: Bookkeeper,
  loops: Loops,
): Promise<void> {
  print('Stopping the fleet; waiting for readings in flight…');
  if (fleet.child.connected) fleet.child.send({ type: 'stop' });
  await Promise.race([fleet.done, sleep(10_000)]);
  // Every fleet report is in: a message no report claimed is a second copy of a fleet reading.
  ledger.settle(Date.now(), 0);
  await Promise.race([writer.drain(), sleep(15_000)]);
  const drainDeadline = Date.now() + (options.drainSeconds ?? view.esm.maximumBatchingWindowSeconds + 30) * 1000;
  const notReceived = () => ledger.notReceived().length;
  while (Date.now() < drainDeadline && ledger.inFlight() - notReceived() > 0) await sleep(500);
  // Alerts of the last readings: a moment for the bus.
  await sleep(1500);
  const loopsDone = loops.stop();
  // Every invocation in flight ends within the function's timeout (the pool kills it then), so
  // the pollers wait that long: a batch that finished after the last look would be counted as
  // taken and found nowhere (lost) when it is only late.
  await Promise.all(pollers.map((p) => p.stop((fn.Timeout ?? 60) * 1000 + 5_000)));
  await loopsDone;
  // The last look, again if moto failed it (a reading not found by then counts as lost).
  for (let tries = 0; tries < 3; tries++) if (await books.verifyRound().then(() => true, () => false)) break;
  await books.pollAlerts().catch(() => undefined);
  await books.pollHealth().catch(() => undefined);
  ledger.tick(Date.now());
  loops.cpu.sample(loops.roles());
}

/**
 * Stops the run's processes in order (the writer, the pollers, the Lambda pools, moto) and reads
 * what only they can tell first: the quarantine queue's depth (it keeps its messages for npm run
 * quarantine), the sensors the detector keeps health items for, moto's time by call (written
 * when it stops).
 */
export async function shutDown(
  { env, physicalIds, motos, clients }: SimStack,
  { writer }: Ingest,
  { pollers, pool, detector }: Processing,
  loops: Loops,
): Promise<{ quarantineQueueDepth: number | undefined; healthItems: number | undefined; motoSeconds: Record<string, { calls: number; seconds: number }> }> {
  writer.stop();
  await Promise.all(pollers.map((p) => p.stop(0)));
  loops.notePids();
  clearInterval(detector.timer);
  await pool.close();
  await detector.pool.close();
  const quarantineQueueDepth = await clients.sqs
    .send(new GetQueueAttributesCommand({ QueueUrl: env[ENV.quarantineQueueUrl]!, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))
    .then((q) => Number(q.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(q.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0))
    .catch(() => undefined);
  const healthItems = await clients.dynamodb
    .send(new ScanCommand({ TableName: physicalIds[LogicalId.SensorHealthTable], Select: 'COUNT' }))
    .then((r) => r.Count ?? 0)
    .catch(() => undefined);
  await motos.stop();
  return { quarantineQueueDepth, healthItems, motoSeconds: motos.timeByCall() };
}
