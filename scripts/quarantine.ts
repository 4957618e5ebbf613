/**
 * npm run quarantine -- --env E [--summary | --export FILE | --purge-older-than D [--yes]]
 *
 * Reads every message of the quarantine queue (a FIFO queue: see scripts/lib/queue.ts for how the
 * whole queue is read), each one rejected reading as handlers/processor/adapters/quarantine.ts
 * writes it: reason, shard, sequence number, partition key (the sensor), arrival, original payload.
 * --summary (default): counts by kind of reason, with an example and the sensors most affected.
 * --export FILE: every message as one JSON line (the body plus message id and sent time).
 * --purge-older-than D (90s, 30m, 12h, 7d): deletes the readings that arrived before now − D, after
 *   a confirmation (or --yes). Each group (a shard) is in arrival order, so a group is read only up
 *   to its first newer reading.
 * To put readings back on the stream once their cause is fixed: npm run redrive -- --quarantine.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { SQSClient, type Message } from '@aws-sdk/client-sqs';
import { DeployError } from './aws';
import { count, parseFlags, runMain, UsageError } from './cli';
import { terminalConfirm } from './lib/confirm';
import { opsContext, parseDuration, queueName, STACK_FLAGS, type OpsDeps } from './lib/ops';
import { walkQueue } from './lib/queue';

export const QUARANTINE_FLAGS = {
  ...STACK_FLAGS,
  summary: { type: 'boolean', help: 'counts by reason (the default)' },
  export: { type: 'string', help: 'write every message to this file, one JSON object a line' },
  'purge-older-than': { type: 'string', help: 'delete readings that arrived longer ago than this (90s, 30m, 12h, 7d)' },
  yes: { type: 'boolean', help: 'with --purge-older-than: do not ask' },
} as const;

export interface QuarantineRecord {
  reason: string;
  shard_id?: string;
  sequence_number?: string;
  partition_key?: string;
  approximate_arrival?: string;
  payload_base64?: string;
  payload_truncated?: boolean;
  payload_sha256?: string;
}

/** A reason without its particulars (quoted values, numbers), so that alike reasons count together. */
export function reasonKind(reason: string): string {
  const general = reason.replace(/"[^"]*"/g, '"…"').replace(/(?<![\w.])-?\d+(\.\d+)?(?![\w.])/g, 'N');
  return general.startsWith('not JSON') ? 'not JSON' : general;
}

const parseBody = (m: Message): QuarantineRecord | undefined => {
  try {
    const body = JSON.parse(m.Body ?? '') as QuarantineRecord;
    return typeof body.reason === 'string' ? body : undefined;
  } catch {
    return undefined;
  }
};

/** When the reading reached the stream (the message's own send time if the body has none). */
const arrivalMs = (m: Message, body: QuarantineRecord | undefined): number =>
  body?.approximate_arrival ? Date.parse(body.approximate_arrival) : Number(m.Attributes?.SentTimestamp ?? Date.now());

export interface Summary {
  total: number;
  unreadable: number;
  byKind: { kind: string; count: number; example: string; sensors: number }[];
  topSensors: { sensor: string; count: number }[];
  oldest?: string;
  newest?: string;
}

export function summarize(records: (QuarantineRecord | undefined)[]): Summary {
  const kinds = new Map<string, { count: number; example: string; sensors: Set<string> }>();
  const sensors = new Map<string, number>();
  let unreadable = 0;
  let oldest: string | undefined;
  let newest: string | undefined;
  for (const r of records) {
    if (!r) {
      unreadable++;
      continue;
    }
    const kind = reasonKind(r.reason);
    const entry = kinds.get(kind) ?? { count: 0, example: r.reason, sensors: new Set<string>() };
    entry.count++;
    if (r.partition_key) entry.sensors.add(r.partition_key);
    kinds.set(kind, entry);
    if (r.partition_key) sensors.set(r.partition_key, (sensors.get(r.partition_key) ?? 0) + 1);
    if (r.approximate_arrival) {
      if (!oldest || r.approximate_arrival < oldest) oldest = r.approximate_arrival;
      if (!newest || r.approximate_arrival > newest) newest = r.approximate_arrival;
    }
  }
  return {
    total: records.length,
    unreadable,
    byKind: [...kinds].map(([kind, e]) => ({ kind, count: e.count, example: e.example, sensors: e.sensors.size })).sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind)),
    topSensors: [...sensors].map(([sensor, count]) => ({ sensor, count })).sort((a, b) => b.count - a.count || a.sensor.localeCompare(b.sensor)).slice(0, 10),
    ...(oldest ? { oldest } : {}),
    ...(newest ? { newest } : {}),
  };
}

export function summaryLines(queue: string, s: Summary): string[] {
  if (s.total === 0) return [`${queue}: empty`];
  return [
    `${queue}: ${count(s.total, 'quarantined reading')}${s.oldest ? `, arrived ${s.oldest} to ${s.newest}` : ''}${s.unreadable ? ` (${s.unreadable} not in the quarantine format)` : ''}`,
    '',
    '| count | reason | sensors | example |',
    '| ---: | --- | ---: | --- |',
    ...s.byKind.map((k) => `| ${k.count.toLocaleString('en-US')} | ${k.kind} | ${k.sensors} | ${k.example.replace(/\|/g, '\\|')} |`),
    '',
    `Most affected sensors: ${s.topSensors.map((t) => `${t.sensor} (${t.count})`).join(', ')}`,
  ];
}

export interface QuarantineResult {
  summary?: Summary;
  exported?: number;
  purged?: number;
  kept?: number;
}

export async function quarantine(argv: string[], deps: OpsDeps = {}): Promise<QuarantineResult> {
  const flags = parseFlags('quarantine', argv, QUARANTINE_FLAGS, 'Reads the whole quarantine queue: a summary by reason, an export, or a purge by age.');
  const tasks = (['summary', 'export', 'purge-older-than'] as const).filter((t) => flags[t] !== undefined && flags[t] !== false);
  if (tasks.length > 1) throw new UsageError(`quarantine: --${tasks.join(' and --')} are separate tasks; give one`);
  const task = tasks[0] ?? 'summary';
  if (flags.yes && task !== 'purge-older-than') throw new UsageError('quarantine: --yes goes with --purge-older-than');
  const maxAgeMs = task === 'purge-older-than' ? parseDuration('quarantine', 'purge-older-than', flags['purge-older-than']!) : 0;
  const confirm = task === 'purge-older-than' ? (deps.confirm ?? terminalConfirm('quarantine', flags.yes === true)) : undefined;

  if (task === 'export' && existsSync(flags.export!)) throw new UsageError(`quarantine: --export ${flags.export} exists already: give a new file name`);
  const ctx = await opsContext('quarantine', flags, ['QuarantineQueueUrl'], deps);
  const url = ctx.outputs.QuarantineQueueUrl!;
  const sqs = new SQSClient(ctx.config);
  const fifo = url.endsWith('.fifo');

  if (task === 'purge-older-than') {
    const cutoff = Date.now() - maxAgeMs;
    const question = `Delete the quarantined readings of ${queueName(url)} that arrived before ${new Date(cutoff).toISOString()} (older than ${flags['purge-older-than']})?`;
    if (!(await confirm!(question))) {
      ctx.print('Nothing deleted.');
      return { purged: 0 };
    }
    const walk = await walkQueue(sqs, url, { fifo }, async (messages) => messages.map((m) => (arrivalMs(m, parseBody(m)) < cutoff ? 'delete' : 'stop-group')));
    ctx.print(`Deleted ${count(walk.deleted, 'reading')} older than ${flags['purge-older-than']}; ${count(walk.kept, 'newer one')} read and kept.`);
    return { purged: walk.deleted, kept: walk.kept };
  }

  const records: (QuarantineRecord | undefined)[] = [];
  const lines: string[] = [];
  await walkQueue(sqs, url, { fifo }, async (messages) => {
    for (const m of messages) {
      const body = parseBody(m);
      records.push(body);
      if (task === 'export') {
        lines.push(
          JSON.stringify({
            message_id: m.MessageId,
            sent_at: m.Attributes?.SentTimestamp ? new Date(Number(m.Attributes.SentTimestamp)).toISOString() : undefined,
            ...(body ?? { unreadable_body: m.Body }),
          }),
        );
      }
    }
    return messages.map(() => 'keep');
  });
  if (task === 'export') {
    try {
      writeFileSync(flags.export!, lines.map((l) => `${l}\n`).join(''), { flag: 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new DeployError(
        code === 'EEXIST' ? `quarantine: --export ${flags.export} exists already: give a new file name` : `quarantine: cannot write ${flags.export}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    ctx.print(`Exported ${count(lines.length, 'quarantined reading')} of ${queueName(url)} to ${flags.export} (every message stays in the queue)`);
    return { exported: lines.length };
  }
  const summary = summarize(records);
  for (const line of summaryLines(queueName(url), summary)) ctx.print(line);
  return { summary };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain('quarantine', async () => {
    await quarantine(process.argv.slice(2));
  });
}
