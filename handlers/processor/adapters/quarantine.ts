/**
 * Invalid readings → the quarantine queue (FIFO), 10 per SendMessageBatch, with the original
 * payload. Each message's deduplication id is its record's identity (shard and sequence number), so
 * a record delivered again (a retry, a replay, two attempts at once) is quarantined once: SQS drops
 * a FIFO message whose deduplication id it took in the last 5 minutes
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html).
 */
import { hash } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QuarantinedRecord } from '../core/types';
import { sendInChunks } from './aws-calls';
import type { CallCounter, IoContext } from '../io';

/** SQS SendMessageBatch limit. */
export const MAX_SEND_MESSAGE_BATCH = 10;
/**
 * Payloads up to this many base64 characters travel whole; larger ones as a digest and a prefix,
 * so that ten messages stay well inside SQS's 256 KiB batch limit.
 */
export const MAX_QUARANTINE_PAYLOAD_CHARS = 16_384;

/** The message body: why, where from, and the original payload (or its digest). */
export function quarantineMessage(q: QuarantinedRecord): string {
  const { record, reason } = q;
  const whole = record.data.length <= MAX_QUARANTINE_PAYLOAD_CHARS;
  return JSON.stringify({
    reason,
    shard_id: record.shardId,
    sequence_number: record.sequenceNumber,
    partition_key: record.partitionKey,
    approximate_arrival: new Date(record.approximateArrivalMs).toISOString(),
    payload_base64: whole ? record.data : record.data.slice(0, 1024),
    payload_truncated: !whole,
    payload_sha256: hash('sha256', Buffer.from(record.data, 'base64')),
  });
}

/** The record's identity in the stream, as a deduplication id (at most 128 characters). */
export const deduplicationId = (q: QuarantinedRecord): string => hash('sha256', `${q.record.shardId}|${q.record.sequenceNumber}`);

/** Sends every quarantined record; answers the positions (into `records`) that could not be sent. */
export async function quarantine(
  client: SQSClient,
  queueUrl: string,
  records: QuarantinedRecord[],
  io: IoContext,
  counter: CallCounter,
): Promise<{ failed: number[]; retries: number }> {
  const indexed = records.map((r, index) => ({ r, index }));
  const result = await sendInChunks(
    io,
    'SendMessageBatch',
    indexed,
    MAX_SEND_MESSAGE_BATCH,
    async (pending, abortSignal) => {
      counter.add('SendMessageBatch');
      const out = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: pending.map(({ r, index }) => ({
            Id: String(index),
            MessageBody: quarantineMessage(r),
            // One group per shard: order within a shard, throughput across shards.
            MessageGroupId: r.record.shardId || 'unknown-shard',
            MessageDeduplicationId: deduplicationId(r),
          })),
        }),
        { abortSignal },
      );
      const permanent = (out.Failed ?? []).filter((f) => f.SenderFault);
      if (permanent.length > 0) io.log('ERROR', 'SendMessageBatch rejected entries', { failed: permanent });
      const failedIds = new Set((out.Failed ?? []).map((f) => f.Id));
      return pending.filter(({ index }) => failedIds.has(String(index)));
    },
  );
  return { failed: result.failed.map(({ index }) => index), retries: result.retries };
}
