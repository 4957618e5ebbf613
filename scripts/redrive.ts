/**
 * npm run redrive -- --env E [--dlq | --quarantine [--reason TEXT] | --alerts] [--dry-run]
 *
 * --dlq (default): each message of the processor's dead-letter queue (the event source mapping's
 *   on-failure destination) names a shard and the first and last sequence numbers of a batch Lambda
 *   gave up on (`KinesisBatchInfo`, https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html).
 *   Those records are read back with GetShardIterator AT_SEQUENCE_NUMBER + GetRecords, put on the
 *   stream again with PutRecords (at most 500 records and 5 MiB per call,
 *   https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html) with their partition
 *   keys and their data bytes untouched, and the message is deleted only once all of them are back.
 * --quarantine: each quarantined reading whose payload is whole is put back on the stream (after
 *   the cause was fixed) and its message deleted; `--reason` limits it to reasons containing a text.
 * --alerts: each alert event EventBridge could not deliver is published to the alerts topic as the
 *   rule's input transformer would have written it, then deleted.
 *
 * Redriven readings reach the processor more than a minute after IoT Core received them, so it
 * counts them as RecordsReplayed and leaves them out of the latency SLO metrics; a reading older
 * than what the alert state has seen moves no alert (AlertsStale).
 */
import { GetShardIteratorCommand, GetRecordsCommand, KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient, type Message } from '@aws-sdk/client-sqs';
import { MAX_PUT_RECORDS, MAX_PUT_RECORDS_BYTES } from '../handlers/processor/limits';
import { buildTemplate } from '../template/index';
import { LogicalId } from '../template/names';
import { DeployError } from './aws';
import { count, parseFlags, runMain, UsageError } from './cli';
import { opsContext, STACK_FLAGS, type OpsContext, type OpsDeps } from './lib/ops';
import { walkQueue, type Verdict } from './lib/queue';

/** Attempts at the entries PutRecords did not take (throttled), with exponential backoff. */
const PUT_ATTEMPTS = 6;
/** GetRecords calls per DLQ message before giving up on reaching its last sequence number. */
const MAX_GET_RECORDS_CALLS = 10_000;

export const REDRIVE_FLAGS = {
  ...STACK_FLAGS,
  dlq: { type: 'boolean', help: "re-put the records of the processor DLQ's failed batches (the default)" },
  quarantine: { type: 'boolean', help: 're-put quarantined readings (after fixing their cause)' },
  reason: { type: 'string', help: 'with --quarantine: only readings whose reason contains this text' },
  alerts: { type: 'boolean', help: 'publish undelivered alerts to the alerts topic' },
  'dry-run': { type: 'boolean', help: 'say what would be redriven; change nothing' },
} as const;

/** The failed batch a DLQ message describes. */
export interface FailedBatch {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  batchSize?: number;
  streamArn?: string;
}

/** Reads `KinesisBatchInfo` from an on-failure record; a clear error when it is not one. */
export function parseDlqMessage(body: string): FailedBatch {
  let info: Partial<FailedBatch> | undefined;
  try {
    info = (JSON.parse(body) as { KinesisBatchInfo?: Partial<FailedBatch> }).KinesisBatchInfo;
  } catch {
    info = undefined;
  }
  if (!info?.shardId || !info.startSequenceNumber || !info.endSequenceNumber) {
    throw new DeployError(`not a Kinesis on-failure record (no KinesisBatchInfo with shardId, startSequenceNumber, endSequenceNumber): ${body.slice(0, 120)}`);
  }
  return info as FailedBatch;
}

/** PutRecords entries in calls of at most 500 records and 5 MiB. */
export function chunkEntries(entries: PutRecordsRequestEntry[]): PutRecordsRequestEntry[][] {
  const chunks: PutRecordsRequestEntry[][] = [];
  let current: PutRecordsRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = (entry.Data?.byteLength ?? 0) + Buffer.byteLength(entry.PartitionKey ?? '');
    if (current.length === MAX_PUT_RECORDS || (current.length > 0 && bytes + size > MAX_PUT_RECORDS_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Puts every entry on the stream, retrying what PutRecords did not take; answers the calls made. */
export async function putAll(kinesis: KinesisClient, streamName: string, entries: PutRecordsRequestEntry[]): Promise<number> {
  let calls = 0;
  for (const chunk of chunkEntries(entries)) {
    let pending = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === PUT_ATTEMPTS) throw new DeployError(`PutRecords kept refusing ${pending.length} records of ${streamName} (throttled?): nothing deleted for them; run the redrive again`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt * Math.random()));
      calls++;
      const out = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: pending }));
      pending = pending.filter((_, i) => out.Records?.[i]?.ErrorCode);
    }
  }
  return calls;
}

/**
 * The records of one shard from `start` to `end` (inclusive), read with AT_SEQUENCE_NUMBER. With
 * ParallelizationFactor > 1 the range may hold records of other batches of that shard (other
 * partition keys): putting them again is harmless (the processor stores a reading once).
 */
export async function readRange(kinesis: KinesisClient, streamName: string, batch: FailedBatch): Promise<{ entries: PutRecordsRequestEntry[]; complete: boolean }> {
  const start = BigInt(batch.startSequenceNumber);
  const end = BigInt(batch.endSequenceNumber);
  let iterator = (
    await kinesis.send(
      new GetShardIteratorCommand({ StreamName: streamName, ShardId: batch.shardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: batch.startSequenceNumber }),
    )
  ).ShardIterator;
  const entries: PutRecordsRequestEntry[] = [];
  let first: bigint | undefined;
  let last: bigint | undefined;
  for (let calls = 0; iterator && calls < MAX_GET_RECORDS_CALLS; calls++) {
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    for (const record of out.Records ?? []) {
      const seq = BigInt(record.SequenceNumber!);
      if (seq > end) return { entries, complete: first === start && last === end };
      if (seq < start) continue;
      first ??= seq;
      last = seq;
      // The bytes as read: the SDK hands Data as a Uint8Array both ways, no base64 step in between.
      entries.push({ Data: record.Data!, PartitionKey: record.PartitionKey! });
    }
    if (last === end) return { entries, complete: first === start };
    if ((out.Records ?? []).length === 0 && (out.MillisBehindLatest ?? 0) === 0) break;
    iterator = out.NextShardIterator;
  }
  return { entries, complete: first === start && last === end };
}

/** What a redrive did, for the summary line and the tests. */
export interface RedriveReport {
  messages: number;
  redriven: number;
  records: number;
  putCalls: number;
  kept: number;
  problems: string[];
}

const emptyReport = (): RedriveReport => ({ messages: 0, redriven: 0, records: 0, putCalls: 0, kept: 0, problems: [] });

async function redriveDlq(ctx: OpsContext, dryRun: boolean): Promise<RedriveReport> {
  const sqs = new SQSClient(ctx.config);
  const kinesis = new KinesisClient(ctx.config);
  const streamName = ctx.outputs.StreamName!;
  const report = emptyReport();
  await walkQueue(sqs, ctx.outputs.ProcessorDeadLetterQueueUrl!, { fifo: false }, async (messages) => {
    const verdicts: Verdict[] = [];
    for (const message of messages) {
      report.messages++;
      let batch: FailedBatch;
      try {
        batch = parseDlqMessage(message.Body ?? '');
      } catch (error) {
        report.problems.push(`message ${message.MessageId}: ${(error as Error).message}`);
        verdicts.push('keep');
        continue;
      }
      if (batch.streamArn && ctx.outputs.StreamArn && batch.streamArn !== ctx.outputs.StreamArn) {
        report.problems.push(`message ${message.MessageId}: from stream ${batch.streamArn}, not this stack's ${ctx.outputs.StreamArn}: left in the queue`);
        verdicts.push('keep');
        continue;
      }
      let range: Awaited<ReturnType<typeof readRange>>;
      try {
        range = await readRange(kinesis, streamName, batch);
      } catch (error) {
        report.problems.push(
          `message ${message.MessageId}: cannot read ${batch.shardId} from ${batch.startSequenceNumber} (${(error as Error).name}: ${(error as Error).message}); past the stream's retention the readings are in the raw-data bucket: left in the queue`,
        );
        verdicts.push('keep');
        continue;
      }
      const label = `${batch.shardId} ${batch.startSequenceNumber}..${batch.endSequenceNumber}: ${range.entries.length} records${batch.batchSize ? ` (batch of ${batch.batchSize})` : ''}`;
      if (!range.complete) {
        report.problems.push(`${label}: the range is not whole on the stream any more (expired?): ${dryRun ? 'would put' : 'put'} what is there, message left in the queue`);
      }
      if (dryRun) {
        ctx.print(`would redrive ${label}`);
        report.records += range.entries.length;
        verdicts.push('keep');
        continue;
      }
      report.putCalls += await putAll(kinesis, streamName, range.entries);
      report.records += range.entries.length;
      ctx.print(`redriven ${label}`);
      if (range.complete) report.redriven++;
      verdicts.push(range.complete ? 'delete' : 'keep');
    }
    report.kept += verdicts.filter((v) => v !== 'delete').length;
    return verdicts;
  });
  return report;
}

/** The quarantine message the processor writes (handlers/processor/adapters/quarantine.ts). */
interface QuarantineBody {
  reason: string;
  partition_key: string;
  payload_base64: string;
  payload_truncated: boolean;
}

async function redriveQuarantine(ctx: OpsContext, dryRun: boolean, reason: string | undefined): Promise<RedriveReport> {
  const sqs = new SQSClient(ctx.config);
  const kinesis = new KinesisClient(ctx.config);
  const report = emptyReport();
  await walkQueue(sqs, ctx.outputs.QuarantineQueueUrl!, { fifo: true }, async (messages) => {
    const verdicts: Verdict[] = [];
    const entries: PutRecordsRequestEntry[] = [];
    for (const message of messages) {
      report.messages++;
      let body: QuarantineBody;
      try {
        body = JSON.parse(message.Body ?? '') as QuarantineBody;
      } catch {
        report.problems.push(`message ${message.MessageId} is not a quarantine record: left in the queue`);
        verdicts.push('keep');
        continue;
      }
      if (reason !== undefined && !body.reason.includes(reason)) {
        verdicts.push('keep');
        continue;
      }
      if (body.payload_truncated) {
        report.problems.push(`${body.partition_key}: payload over 16 KiB was stored as a prefix and a digest: cannot be redriven, left in the queue`);
        verdicts.push('keep');
        continue;
      }
      entries.push({ Data: Buffer.from(body.payload_base64, 'base64'), PartitionKey: body.partition_key });
      verdicts.push(dryRun ? 'keep' : 'delete');
    }
    report.records += entries.length;
    if (!dryRun && entries.length > 0) report.putCalls += await putAll(kinesis, ctx.outputs.StreamName!, entries);
    report.redriven += entries.length;
    report.kept += verdicts.filter((v) => v !== 'delete').length;
    return verdicts;
  });
  return report;
}

/**
 * The alert rule's target input for an event: the InputTransformer of the alert rule in the
 * template (its paths filled into its template, a JSON string), so a resent alert reads exactly as
 * a delivered one. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 */
export function alertMessage(event: unknown): string {
  const rule = buildTemplate().Resources[LogicalId.CongestionAlertRule] as unknown as {
    Properties: { Targets: { InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string } }[] };
  };
  const { InputPathsMap, InputTemplate } = rule.Properties.Targets[0]!.InputTransformer;
  const at = (path: string): unknown => path.replace(/^\$\.?/, '').split('.').filter(Boolean).reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], event);
  const filled = InputTemplate.replace(/<([A-Za-z0-9_.-]+)>/g, (whole, name: string) => {
    if (!(name in InputPathsMap)) return whole;
    const value = at(InputPathsMap[name]!);
    // Inside a quoted template a value goes in as text (escaped for the JSON string around it).
    return value === undefined ? '' : JSON.stringify(typeof value === 'string' ? value : JSON.stringify(value)).slice(1, -1);
  });
  return InputTemplate.startsWith('"') ? (JSON.parse(filled) as string) : filled;
}

async function resendAlerts(ctx: OpsContext, dryRun: boolean): Promise<RedriveReport> {
  const sqs = new SQSClient(ctx.config);
  const sns = new SNSClient(ctx.config);
  const report = emptyReport();
  await walkQueue(sqs, ctx.outputs.AlertDeliveryDeadLetterQueueUrl!, { fifo: false }, async (messages: Message[]) => {
    const verdicts: Verdict[] = [];
    for (const message of messages) {
      report.messages++;
      let event: { detail?: unknown };
      try {
        event = JSON.parse(message.Body ?? '') as { detail?: unknown };
        if (!event.detail) throw new Error('no detail');
      } catch {
        report.problems.push(`message ${message.MessageId} is not an alert event: left in the queue`);
        verdicts.push('keep');
        continue;
      }
      const text = alertMessage(event);
      if (dryRun) {
        ctx.print(`would publish: ${text}`);
        verdicts.push('keep');
        continue;
      }
      await sns.send(new PublishCommand({ TopicArn: ctx.outputs.AlertsTopicArn!, Message: text }));
      report.redriven++;
      report.records++;
      verdicts.push('delete');
    }
    report.kept += verdicts.filter((v) => v !== 'delete').length;
    return verdicts;
  });
  return report;
}

export async function redrive(argv: string[], deps: OpsDeps = {}): Promise<RedriveReport> {
  const flags = parseFlags('redrive', argv, REDRIVE_FLAGS, 'Puts failed or quarantined readings back on the stream, or resends undelivered alerts.');
  const modes = (['dlq', 'quarantine', 'alerts'] as const).filter((m) => flags[m]);
  if (modes.length > 1) throw new UsageError(`redrive: --${modes.join(' and --')} are separate tasks; give one`);
  const mode = modes[0] ?? 'dlq';
  if (flags.reason !== undefined && mode !== 'quarantine') throw new UsageError('redrive: --reason goes with --quarantine');
  const required = {
    dlq: ['ProcessorDeadLetterQueueUrl', 'StreamName'],
    quarantine: ['QuarantineQueueUrl', 'StreamName'],
    alerts: ['AlertDeliveryDeadLetterQueueUrl', 'AlertsTopicArn'],
  }[mode];
  const ctx = await opsContext('redrive', flags, required, deps);
  const dryRun = flags['dry-run'] === true;
  const report =
    mode === 'dlq' ? await redriveDlq(ctx, dryRun) : mode === 'quarantine' ? await redriveQuarantine(ctx, dryRun, flags.reason) : await resendAlerts(ctx, dryRun);
  for (const problem of report.problems) ctx.print(`warning: ${problem}`);
  const what: [string, string] = mode === 'alerts' ? ['alert published', 'alerts published'] : ['record put back on the stream', 'records put back on the stream'];
  ctx.print(
    dryRun
      ? `dry run: ${count(report.messages, 'message')} read, ${count(report.records, mode === 'alerts' ? 'alert' : 'record')} would be redriven; nothing changed`
      : `${count(report.messages, 'message')} read: ${count(report.records, what[0], what[1])}${report.putCalls ? ` in ${count(report.putCalls, 'PutRecords call')}` : ''}, ${count(report.messages - report.kept, 'message')} deleted, ${report.kept} left in the queue`,
  );
  return report;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain('redrive', async () => {
    const report = await redrive(process.argv.slice(2));
    // Something was left in the queue for a reason the warnings give: not a clean run.
    if (report.problems.length > 0) process.exitCode = 1;
  });
}
