/**
 * Phase 6, processing: the emulated event source mapping (a poller per shard invoking the built
 * bundle in a pool of containers, one per lane) and the silent-sensor detector on the template's
 * schedule; each registered for teardown as it starts.
 */
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient, type ShardIteratorType } from '@aws-sdk/client-kinesis';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { LogicalId } from '../../../template/names';
import { ShardPoller, type ShardSource, type StreamRecord } from '../esm';
import { LambdaPool } from '../lambda-pool';
import { recordKey, type Entry, type Ledger } from '../ledger';
import type { LocalConsole } from '../local-console';
import type { PhaseContext } from './context';
import type { Ingest } from './ingest';
import { functionEnv, type SimStack } from './stack';

export interface Processing {
  pool: LambdaPool;
  pollers: ShardPoller[];
  shardIds: string[];
  /** Readings the processor took, waiting to be looked up in DynamoDB (the books' verifier takes them). */
  toVerify: Entry[];
  invocations: Invocation[];
  detector: { pool: LambdaPool; timer: NodeJS.Timeout; scheduleMs: number; runs: number };
}

/** One invocation of the processor, as the event source mapping made it. */
export interface Invocation {
  lane: number;
  startedAtMs: number;
  records: number;
  ms: number;
  /** A cold start: it waited this long for the container it started (the pool's `initMs`). */
  coldStartInitMs?: number;
}

/** A shard read from TRIM_HORIZON (the mapping's StartingPosition) onwards. */
function shardSource(kinesis: KinesisClient, streamName: string, shardId: string, startingPosition: string): ShardSource {
  let iterator: string | undefined;
  return {
    shardId,
    async read(limit) {
      iterator ??= (
        await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: startingPosition as ShardIteratorType }))
      ).ShardIterator;
      const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
      iterator = out.NextShardIterator ?? iterator;
      return (out.Records ?? []).map(
        (r): StreamRecord => ({
          sequenceNumber: r.SequenceNumber!,
          partitionKey: r.PartitionKey!,
          data: Buffer.from(r.Data!),
          approximateArrivalMs: r.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
        }),
      );
    },
  };
}

/** An EventBridge Scheduler rate expression (`rate(1 minute)`, `rate(5 minutes)`, `rate(30 seconds)`) in milliseconds. */
export function scheduleRateMs(expression: string): number {
  const m = /^rate\((\d+) (second|minute|hour|day)s?\)$/.exec(expression);
  if (!m) throw new Error(`the simulator runs rate(...) schedules only, got '${expression}'`);
  return Number(m[1]) * { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 }[m[2] as 'second' | 'minute' | 'hour' | 'day'];
}

/** A JSON log line of the processor (handlers/processor/log.ts), or undefined. */
function parseLogLine(line: string): { reason?: string; sequence_number?: string; shard_id?: string } | undefined {
  try {
    return JSON.parse(line) as { reason?: string; sequence_number?: string; shard_id?: string };
  } catch {
    return undefined;
  }
}

/** Prints the functions' warnings and errors (the processor's and the detector's together) up to `limit`. */
function warningPrinter(print: (line: string) => void, limit: number): (prefix: string, line: string) => void {
  let printed = 0;
  return (prefix, line) => {
    // The function's warnings and errors (its EMF metric lines and INFO logs are left out).
    if (/"level":"(WARN|ERROR)"/.test(line) && printed++ < limit) print(`${prefix}: ${line.slice(0, 400)}`);
  };
}

/** The processor's containers, one per lane of the event source mapping. */
function startProcessorPool(
  { teardown }: PhaseContext,
  { env, fn, bundle, motos }: SimStack,
  ledger: Ledger,
  outsiders: Ingest['outsiders'],
  localConsole: LocalConsole,
  warn: (prefix: string, line: string) => void,
): LambdaPool {
  // The function's clients reach moto through AWS_ENDPOINT_URL (the SDK's endpoint override), DynamoDB's through AWS_ENDPOINT_URL_DYNAMODB.
  const pool = new LambdaPool({ zipPath: bundle.zipPath, env: { ...env, ...motos.endpointEnv }, timeoutSeconds: fn.Timeout ?? 60,
    onLog: (lane, line) => {
      localConsole.onProcessorLog(line);
      // The processor's verdict on each reading it quarantines: the books take it from here, so
      // the quarantine queue keeps its messages for npm run quarantine.
      if (line.includes('"Reading quarantined"')) {
        const logged = parseLogLine(line);
        if (logged?.sequence_number && logged.shard_id && logged.reason) {
          const key = recordKey(logged.shard_id, logged.sequence_number);
          ledger.quarantined(key, logged.reason);
          const outsider = outsiders.get(key);
          if (outsider) outsider.reason = logged.reason;
        }
        return;
      }
      warn(`processor (lane ${lane})`, line);
    },
  });
  teardown.add(() => pool.close());
  return pool;
}

/**
 * The silent-sensor detector on the template's schedule (EventBridge Scheduler, which moto does
 * not run): the bundle's `detector` export in a container of its own, invoked at that rate.
 */
async function startDetector({ options, print, teardown }: PhaseContext, { view, bundle, motos, physicalIds, clients }: SimStack, warn: (prefix: string, line: string) => void): Promise<Processing['detector']> {
  const detectorFn = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physicalIds[LogicalId.HealthDetectorFunction] }));
  const detectorPool = new LambdaPool({
    zipPath: bundle.zipPath,
    env: { ...functionEnv(detectorFn), ...motos.endpointEnv, AWS_LAMBDA_FUNCTION_NAME: detectorFn.FunctionName ?? 'detector' },
    timeoutSeconds: detectorFn.Timeout ?? 60,
    handlerExport: detectorFn.Handler?.split('.').pop() ?? 'detector',
    onLog: (_lane, line) => warn('detector', line),
  });
  teardown.add(() => detectorPool.close());
  const scheduleMs = options.detectorIntervalSeconds !== undefined ? options.detectorIntervalSeconds * 1000 : scheduleRateMs(view.detectorSchedule);
  const runDetector = async () => {
    const outcome = await detectorPool.invoke(0, { source: 'aws.scheduler', 'detail-type': 'Scheduled Event', time: new Date().toISOString(), detail: {} });
    detector.runs++;
    if (!outcome.ok) print(`detector run failed: ${outcome.error.split('\n')[0]}`);
  };
  const detector = { pool: detectorPool, timer: setInterval(() => void runDetector(), scheduleMs), scheduleMs, runs: 0 };
  teardown.add(() => clearInterval(detector.timer));
  print(`Health detector: ${detectorFn.FunctionName} every ${scheduleMs / 1000} s (${view.detectorSchedule}, the template's schedule).`);
  return detector;
}

/** The event source mapping: a poller per shard invoking `pool`, failed batches to the on-failure queue. */
async function startPollers(
  { print, teardown }: PhaseContext,
  { view, physicalIds, outputs, clients }: SimStack,
  ledger: Ledger,
  streamName: string,
  pool: LambdaPool,
): Promise<Pick<Processing, 'pollers' | 'shardIds' | 'toVerify' | 'invocations'>> {
  const toVerify: Entry[] = [];
  const dlqUrl = physicalIds[view.esm.onFailureResource]!;
  const streamArn = outputs.StreamArn ?? `arn:aws:kinesis:us-east-1:123456789012:stream/${streamName}`;
  const shardIds = ((await clients.kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? []).map((s) => s.ShardId!);
  let invokeErrors = 0;
  const invocations: Invocation[] = [];
  const pollers = shardIds.map(
    (shardId, i) =>
      new ShardPoller(
        shardSource(clients.kinesis, streamName, shardId, view.esm.startingPosition),
        {
          settings: view.esm,
          streamArn,
          region: 'us-east-1',
          invoker: pool,
          hooks: {
            onInvoke: (lane, size, outcome, ms) => {
              invocations.push({ lane, startedAtMs: Date.now() - ms, records: size, ms, ...(outcome.initMs !== undefined ? { coldStartInitMs: outcome.initMs } : {}) });
              if (!outcome.ok && invokeErrors++ < 5) print(`processor (lane ${lane}, ${size} records) failed: ${outcome.error.split('\n').slice(0, 3).join(' ')}`);
            },
            onDone: (records, atMs) => toVerify.push(...ledger.processed(records.map((r) => recordKey(shardId, r.sequenceNumber)), atMs)),
            onFailure: async (records, failure) => {
              ledger.deadLettered(records.map((r) => recordKey(shardId, r.sequenceNumber)));
              print(`ESM: ${failure.batchSize} records of ${failure.shardId} to the on-failure destination (${failure.condition}${failure.functionError ? `: ${failure.functionError.split('\n')[0]!.slice(0, 300)}` : ''})`);
              await clients.sqs
                .send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify({ requestContext: { condition: failure.condition, approximateInvokeCount: failure.approximateInvokeCount }, responseContext: { functionError: failure.functionError }, KinesisBatchInfo: { shardId: failure.shardId, startSequenceNumber: failure.startSequenceNumber, endSequenceNumber: failure.endSequenceNumber, batchSize: failure.batchSize, streamArn } }) }))
                .catch(() => undefined);
            },
          },
        },
        i * view.esm.parallelizationFactor,
      ),
  );
  for (const p of pollers) p.start();
  teardown.add(() => Promise.all(pollers.map((p) => p.stop(5_000))).then(() => undefined));
  return { pollers, shardIds, toVerify, invocations };
}

export async function startProcessing(ctx: PhaseContext, stack: SimStack, ledger: Ledger, { outsiders, streamName }: Ingest, localConsole: LocalConsole): Promise<Processing> {
  // The functions' warnings and errors, the processor's and the detector's: at most 20 printed.
  const warn = warningPrinter(ctx.print, 20);
  const pool = startProcessorPool(ctx, stack, ledger, outsiders, localConsole, warn);
  const detector = await startDetector(ctx, stack, warn);
  return { pool, detector, ...(await startPollers(ctx, stack, ledger, streamName, pool)) };
}
