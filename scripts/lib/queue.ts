/**
 * Reading a whole SQS queue, standard or FIFO, for the operations commands.
 *
 * A FIFO queue returns no message of a message group while another message of that group is in
 * flight (received, not deleted): "you must delete the messages in the current message group ID
 * before you can receive more messages within the same message group ID"
 * (https://repost.aws/knowledge-center/sqs-fifo-messages-not-returned). So a FIFO message that must
 * stay is moved to the back of its group (sent again with a fresh deduplication id, then the
 * original deleted: a crash in between leaves a duplicate, never a loss), and a message seen a
 * second time means its group has been read to the end: it stays in flight, blocking the group,
 * until the walk ends and every held message is made visible again. A standard queue needs none of
 * this: held messages stay in flight until the end.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** SQS ReceiveMessage and ChangeMessageVisibilityBatch take at most 10 messages. */
export const MAX_RECEIVE = 10;

/** What the visitor wants done with a message. */
export type Verdict =
  /** Handled (re-put, purged, resent): delete it. */
  | 'delete'
  /** It stays in the queue, and the walk goes on past it. */
  | 'keep'
  /** It stays, and so does the rest of its group (FIFO: the messages behind it are newer). */
  | 'stop-group';

export interface WalkOptions {
  fifo: boolean;
  /** How long a received message stays hidden while the walk runs. */
  visibilityTimeoutSeconds?: number;
  /** Long polling, so that an empty answer means an empty queue (short polls sample some servers). */
  waitTimeSeconds?: number;
}

export interface WalkResult {
  seen: number;
  deleted: number;
  kept: number;
}

/** A message's identity across a move to the back of its group: its body. */
const identity = (m: Message): string => createHash('sha256').update(m.Body ?? '').digest('hex');

export async function walkQueue(
  sqs: SQSClient,
  queueUrl: string,
  options: WalkOptions,
  visit: (messages: Message[]) => Promise<Verdict[]>,
): Promise<WalkResult> {
  const held: Message[] = [];
  const seen = new Set<string>();
  const result: WalkResult = { seen: 0, deleted: 0, kept: 0 };
  try {
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: MAX_RECEIVE,
          VisibilityTimeout: options.visibilityTimeoutSeconds ?? 300,
          WaitTimeSeconds: options.waitTimeSeconds ?? 1,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      const fresh: Message[] = [];
      for (const message of Messages) {
        const id = identity(message);
        // Moved to the back of its group and reached again: the group is read to the end.
        if (seen.has(id)) held.push(message);
        else {
          seen.add(id);
          fresh.push(message);
        }
      }
      if (fresh.length === 0) continue;
      result.seen += fresh.length;
      const verdicts = await visit(fresh);
      for (const [i, message] of fresh.entries()) {
        const verdict = verdicts[i] ?? 'keep';
        const id = identity(message);
        if (verdict === 'delete') {
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
          result.deleted++;
        } else if (verdict === 'keep' && options.fifo) {
          await sqs.send(
            new SendMessageCommand({
              QueueUrl: queueUrl,
              MessageBody: message.Body!,
              MessageGroupId: message.Attributes?.MessageGroupId ?? 'unknown-shard',
              MessageDeduplicationId: createHash('sha256').update(`${id}|moved|${randomUUID()}`).digest('hex'),
            }),
          );
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
          result.kept++;
        } else {
          held.push(message);
          result.kept++;
        }
      }
    }
  } finally {
    await release(sqs, queueUrl, held);
  }
  return result;
}

/** Makes held messages visible again at once. */
async function release(sqs: SQSClient, queueUrl: string, held: Message[]): Promise<void> {
  for (let i = 0; i < held.length; i += MAX_RECEIVE) {
    const chunk = held.slice(i, i + MAX_RECEIVE);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    );
  }
}
