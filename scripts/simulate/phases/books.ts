/**
 * The books (scripts/simulate/ledger.ts) as the run keeps them: opened before the fleet starts,
 * kept by looking each reading the processor took up in DynamoDB and by reading the alert and
 * health queues, and closed into the run's summary.
 */
import { BatchGetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ENV, READINGS_TABLE } from '../../../contract';
import { storedOffsets } from '../../../handlers/processor/adapters/window-store';
import { DEFAULTS } from '../../../template/config';
import { loadAverage } from '../cpu';
import { Ledger, percentile, type Entry } from '../ledger';
import type { Invocation } from './processing';
import type { Summary } from '../run';
import type { SimSnapshot } from '../state';
import type { StackView } from '../stack-view';
import type { AlertTap } from './alert-tap';
import type { City } from './city';
import type { PhaseContext } from './context';
import type { SimStack } from './stack';

/** The books from now on: the run's clock starts here. */
export function openBooks({ options }: PhaseContext, { env, thresholds }: SimStack, { layout }: City): { ledger: Ledger; startedAt: number } {
  const startedAt = Date.now();
  const ledger = new Ledger({
    sensors: layout.sensors,
    zones: layout.zones,
    hz: options.hz,
    scenario: options.scenario,
    cooldownMs: Number(env[ENV.alertCooldownSeconds]) * 1000,
    endToEndTargetMs: DEFAULTS.endToEndLatencyTargetMs,
    alertTargetMs: DEFAULTS.alertLatencyTargetMs,
    startedAt,
    thresholds,
  });
  return { ledger, startedAt };
}

/** Renders an EventBridge input transformer (`<name>` placeholders from `$.a.b` paths), as the SNS target would deliver it. */
export function renderAlert(view: StackView['alertRule'], event: Record<string, unknown>): string {
  const at = (path: string) => path.replace(/^\$\./, '').split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], event);
  const text = view.inputTemplate.replace(/<([A-Za-z0-9_]+)>/g, (whole, name: string) =>
    name in view.inputPathsMap ? String(at(view.inputPathsMap[name]!)) : whole,
  );
  return text.replace(/^"|"$/g, '');
}

async function drainQueue(sqs: SQSClient, queueUrl: string, handle: (body: string) => void): Promise<number> {
  let total = 0;
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }));
    if (!Messages?.length) return total;
    for (const m of Messages) handle(m.Body!);
    total += Messages.length;
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    if (Messages.length < 10) return total;
  }
}

export interface Bookkeeper {
  /** Looks up the readings the processor took since the last round; those not found yet wait for the next. */
  verifyRound(): Promise<void>;
  pollAlerts(): Promise<number>;
  pollHealth(): Promise<number>;
  /** The health events read so far, as printed. */
  healthEvents: string[];
}

export function keepBooks({ print }: PhaseContext, { env, view, rollupWindowMs, clients: { sqs, dynamodb: ddb } }: SimStack, { alertQueueUrl, opsQueueUrl }: AlertTap, ledger: Ledger, toVerify: Entry[]): Bookkeeper {
  // Stored = seen in DynamoDB: each reading the processor took is looked up in its window's item.
  const verifyRound = async () => {
    const batch = [...toVerify.splice(0, toVerify.length), ...ledger.takeLateToVerify()];
    if (batch.length === 0) return;
    const keys = new Map<string, { sensorId: string; window: string; entries: Entry[] }>();
    for (const e of batch) {
      const sensorId = e.thing;
      const start = Math.floor(e.timestampMs! / rollupWindowMs) * rollupWindowMs;
      const window = new Date(start).toISOString();
      const k = `${sensorId}|${window}`;
      const slot = keys.get(k) ?? { sensorId, window, entries: [] };
      slot.entries.push(e);
      keys.set(k, slot);
    }
    const slots = [...keys.values()];
    const table = env[ENV.readingsTableName]!;
    // Each window's offsets and the moment its answer came: a reading is stored from then on (a
    // round of many chunks would otherwise stamp the first chunk's readings with the last's time).
    const found = new Map<string, { offsets: Set<number>; at: number }>();
    const lookup = async (chunk: typeof slots) => {
      let request: Record<string, AttributeValue>[] | undefined = chunk.map((s) => ({ [READINGS_TABLE.partitionKey]: { S: s.sensorId }, [READINGS_TABLE.sortKey]: { S: s.window } }));
      while (request && request.length > 0) {
        const out = await ddb.send(
          new BatchGetItemCommand({
            RequestItems: {
              [table]: {
                Keys: request,
                ProjectionExpression: '#p, #s, #o',
                ExpressionAttributeNames: { '#p': READINGS_TABLE.partitionKey, '#s': READINGS_TABLE.sortKey, '#o': READINGS_TABLE.offsetsAttribute },
              },
            },
          }),
        );
        const answeredAt = Date.now();
        for (const item of out.Responses?.[table] ?? []) {
          found.set(`${item[READINGS_TABLE.partitionKey]!.S}|${item[READINGS_TABLE.sortKey]!.S}`, { offsets: new Set(storedOffsets(item)), at: answeredAt });
        }
        request = out.UnprocessedKeys?.[table]?.Keys as Record<string, AttributeValue>[] | undefined;
      }
    };
    // BatchGetItem takes 100 keys; four calls at a time. A round that fails (moto overloaded) looks
    // again at its readings next round, rather than leaving them unverified (counted as lost).
    const chunks = Array.from({ length: Math.ceil(slots.length / 100) }, (_, i) => slots.slice(i * 100, (i + 1) * 100));
    try {
      for (let i = 0; i < chunks.length; i += 4) await Promise.all(chunks.slice(i, i + 4).map(lookup));
    } catch (error) {
      toVerify.push(...batch);
      throw error;
    }
    for (const slot of slots) {
      const seen = found.get(`${slot.sensorId}|${slot.window}`);
      const start = Date.parse(slot.window);
      for (const e of slot.entries) {
        if (seen?.offsets.has(e.timestampMs! - start)) ledger.stored(e, seen.at);
        else if (e.state === 'processed') toVerify.push(e); // not there yet (or quarantined): look again
      }
    }
  };

  const healthEvents: string[] = [];
  const pollHealth = () =>
    drainQueue(sqs, opsQueueUrl, (body) => {
      const event = JSON.parse(body) as { 'detail-type'?: string; detail?: { sensor_id?: string; zone_id?: string } };
      const line = `${event['detail-type']}: ${event.detail?.sensor_id ?? ''} in ${event.detail?.zone_id ?? '?'}`;
      healthEvents.push(line);
      print(`HEALTH ${new Date().toISOString().slice(11, 19)} ${line}`);
    });
  const pollAlerts = () =>
    drainQueue(sqs, alertQueueUrl, (body) => {
      const event = JSON.parse(body) as Record<string, unknown> & { detail: Parameters<Ledger['alert']>[0] };
      const at = Date.now();
      ledger.alert(event.detail, at);
      const latency = (ledger.snapshot(at, 1).recentAlerts[0]?.latencyMs ?? 0) / 1000;
      print(`ALERT ${new Date(at).toISOString().slice(11, 19)} ${renderAlert(view.alertRule, event)} [${latency.toFixed(1)} s after the reading]`);
    });
  return { verifyRound, pollAlerts, pollHealth, healthEvents };
}

/** What the end of the run measured, beside the books, for the summary. */
export interface RunFacts {
  trafficSeconds: number;
  takeovers: string[];
  quarantineQueueDepth: number | undefined;
  health: Summary['health'];
  stoppedPids: Summary['stoppedPids'];
  cpuCoresByProcess: Summary['cpuCoresByProcess'];
  /** moto's time by API call, busiest first. */
  motoSeconds: Summary['motoTimeByCall'];
  invocations: number;
  invocationLog: Invocation[];
  /** When the fleet started (the books' origin). */
  trafficStartedAt: number;
  coldStarts: number;
  shards: number;
}

/**
 * When the pipeline's start-up ended: the last of the lanes' first invocations returned (each lane's
 * first batch writes every window, status item and alert state anew, on a cold container); epoch
 * ms, undefined without an invocation.
 */
export function startupEndedAt(invocations: readonly Invocation[]): number | undefined {
  const firstOfLane = new Map<number, Invocation>();
  for (const i of invocations) {
    const first = firstOfLane.get(i.lane);
    if (!first || i.startedAtMs < first.startedAtMs) firstOfLane.set(i.lane, i);
  }
  if (firstOfLane.size === 0) return undefined;
  return Math.max(...[...firstOfLane.values()].map((i) => i.startedAtMs + i.ms));
}

/** The books closed: the final snapshot and the summary (`Summary` in run.ts says what each figure means). */
export function closeBooks({ options }: PhaseContext, { view, env, rollupWindowMs }: SimStack, ledger: Ledger, facts: RunFacts): { snapshot: SimSnapshot; summary: Summary } {
  const { trafficSeconds, invocationLog } = facts;
  const invocationMs = invocationLog.map((i) => i.ms).sort((a, b) => a - b);
  const snapshot = ledger.snapshot(Date.now(), Number.MAX_SAFE_INTEGER);
  const t = ledger.totals;
  // Lost: taken by the processor but found neither in DynamoDB nor in the quarantine.
  const states = ledger.countByState();
  const lost = states.processed ?? 0;
  const unreceived = ledger.notReceived();
  const inFlight = ledger.inFlight() - unreceived.length;
  const missed = ledger.missedAlerts();
  const summary: Summary = {
    scenario: options.scenario,
    sensors: options.sensors,
    hz: options.hz,
    zones: options.zones,
    durationSeconds: Math.round(trafficSeconds * 10) / 10,
    readingsPerSecond: { published: Math.round((t.published / trafficSeconds) * 10) / 10, stored: Math.round((t.stored / trafficSeconds) * 10) / 10 },
    totals: { ...t, inFlight, lost, notReceived: unreceived.length },
    external: { byKind: { ...ledger.externalByKind }, stored: ledger.externalOutcome.stored, quarantined: ledger.externalOutcome.quarantined },
    takeovers: facts.takeovers.slice(0, 20),
    notReceivedSamples: unreceived.slice(0, 5).map((e) => `${e.thing} #${e.n} published at ${new Date(e.publishedAt!).toISOString()}`),
    quarantineQueueDepth: facts.quarantineQueueDepth,
    health: facts.health,
    stoppedPids: facts.stoppedPids,
    quarantinedByReason: { ...ledger.quarantinedByReason },
    badReadings: { sent: { ...ledger.badSent }, quarantined: { ...ledger.badQuarantined } },
    misplaced: ledger.misplaced.slice(0, 20),
    lostSamples: ledger.describe('processed', 5),
    latency: snapshot.latency,
    afterStartup: (() => {
      const endedAt = startupEndedAt(invocationLog);
      return endedAt === undefined
        ? null
        : { fromSeconds: Math.round((endedAt - facts.trafficStartedAt) / 100) / 10, endToEnd: ledger.endToEndPublishedFrom(endedAt) };
    })(),
    alerts: {
      expected: ledger.expected.size,
      received: t.alerts,
      duplicates: t.duplicateAlerts,
      missed: missed.length,
      unexpected: t.unexpectedAlerts,
      missedSamples: missed.slice(0, 5).map((m) => `${m.sensorId} ${m.from}→${m.to} at ${m.readingTime}`),
    },
    cpuCoresByProcess: facts.cpuCoresByProcess,
    motoTimeByCall: Object.fromEntries(Object.entries(facts.motoSeconds).slice(0, 8)),
    loadAverage1m: loadAverage(),
    invocations: facts.invocations,
    invocation: {
      meanRecords: Math.round(invocationLog.reduce((n, i) => n + i.records, 0) / Math.max(1, invocationLog.length)),
      p50Ms: percentile(invocationMs, 50),
      p99Ms: percentile(invocationMs, 99),
      maxMs: invocationMs.length ? invocationMs[invocationMs.length - 1]! : null,
      slowest: [...invocationLog]
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 5)
        .map(({ startedAtMs, ...i }) => ({ atSeconds: Math.round((startedAtMs - facts.trafficStartedAt) / 100) / 10, ...i })),
    },
    coldStarts: facts.coldStarts,
    stack: {
      shards: facts.shards,
      batchingWindowSeconds: view.esm.maximumBatchingWindowSeconds,
      parallelizationFactor: view.esm.parallelizationFactor,
      rollupWindowSeconds: rollupWindowMs / 1000,
      cooldownSeconds: Number(env[ENV.alertCooldownSeconds]),
    },
  };
  return { snapshot, summary };
}
