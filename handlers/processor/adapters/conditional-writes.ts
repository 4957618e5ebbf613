/**
 * The processor's conditional writes (window items, alert-state commits and outbox clears), up to
 * 100 per call. BatchWriteItem cannot carry a condition, and every write here is conditioned on
 * what its writer read, so they go out as TransactWriteItems: up to 100 actions on distinct items,
 * 4 MB in all, each with its own condition, all applied or none
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html;
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html).
 * The role needs the underlying actions, dynamodb:PutItem and dynamodb:UpdateItem
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
 * A transactional write costs two write units per KB instead of one
 * (https://aws.amazon.com/dynamodb/pricing/provisioned/): `npm run plan` prices that, and the
 * alternative it was weighed against (PartiQL BatchExecuteStatement, 25 statements each failing on
 * its own at one unit, which moto 5.2 cannot run with conditions: docs/capacity.md).
 *
 * All or nothing is turned back into one outcome per write: when a transaction is cancelled, its
 * CancellationReasons say which write failed its condition (with the item it failed on:
 * ReturnValuesOnConditionCheckFailure ALL_OLD) and which were throttled or in conflict; the writes
 * whose reason is None were cancelled only for the others and go out again at once. A write whose
 * condition failed is a conflict, answered to its caller to merge again. A single conditional
 * UpdateItem (conditionalWrite: the console's acknowledgements, the health store's sensors) answers
 * the same outcomes. This is the one place a failed condition is recognised (conflictOf), whether
 * a transaction's cancellation reason or a single write's ConditionalCheckFailedException.
 */
import {
  TransactWriteItemsCommand,
  type CancellationReason,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { ConditionalWriteConflict } from '../errors';
import { errorDetail } from '../log';
import { call, chunk, isRetryable, mapPool, retrying, waitForRetry, type Item } from './aws-calls';
import type { CallCounter, IoContext } from '../io';

/** DynamoDB TransactWriteItems limit: 100 actions per call. */
export const MAX_TRANSACT_WRITE_ITEMS = 100;

/** What became of one write: the one shape every conditional write answers. */
export type WriteOutcome =
  | { kind: 'written' }
  /** Its condition failed: the item stands as `item` (undefined: there is none, or it was not asked for). */
  | { kind: 'conflict'; item: Item | undefined }
  /** Not written in time (throttled until the deadline, a timeout whose effect is unknown) or refused. */
  | { kind: 'failed' };

const WRITTEN: WriteOutcome = { kind: 'written' };
const FAILED: WriteOutcome = { kind: 'failed' };

/** Cancellation reasons worth another try after a backoff (the others, e.g. ValidationError, are not). */
const RETRYABLE_REASONS = new Set(['TransactionConflict', 'ProvisionedThroughputExceeded', 'ThrottlingError', 'RequestLimitExceeded']);

/**
 * The conflict a failure is, or undefined: a single write's ConditionalCheckFailedException (with
 * the item when the write asked for it), or a transaction's ConditionalCheckFailed cancellation
 * reason (with the item it failed on). The one place a failed condition is recognised.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html#API_UpdateItem_Errors
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CancellationReason.html
 */
export function conflictOf(failure: unknown): ConditionalWriteConflict | undefined {
  if (failure instanceof ConditionalWriteConflict) return failure;
  const f = failure as { name?: string; Code?: string; Item?: Item } | undefined;
  if (f?.name === 'ConditionalCheckFailedException' || f?.Code === 'ConditionalCheckFailed') return new ConditionalWriteConflict(f.Item, { cause: failure });
  return undefined;
}

/** Whether a write's condition failed: a conflict with another writer (or another attempt of this one). */
export const isConditionFailure = (reason: CancellationReason | undefined): boolean => conflictOf(reason) !== undefined;

const conflictOutcome = (conflict: ConditionalWriteConflict): WriteOutcome => ({ kind: 'conflict', item: conflict.item as Item | undefined });

/**
 * One conditional DynamoDB write (an UpdateItem of the console's acknowledgement, of the health
 * store's sensors), retried like any call and counted: written, or a conflict when its condition
 * failed, which is an answer, not an error; anything else is thrown. The window and alert-state
 * writes go 100 to a TransactWriteItems instead (writeConditionally).
 */
export async function conditionalWrite(
  io: IoContext,
  counter: CallCounter,
  operation: string,
  write: (abortSignal: AbortSignal) => Promise<unknown>,
): Promise<Exclude<WriteOutcome, { kind: 'failed' }>> {
  counter.add(operation);
  try {
    await retrying(io, operation, write);
    return WRITTEN as { kind: 'written' };
  } catch (error) {
    const conflict = conflictOf(error);
    if (conflict) return conflictOutcome(conflict) as { kind: 'conflict'; item: Item | undefined };
    throw error;
  }
}

const cancellationReasons = (error: unknown): CancellationReason[] | undefined =>
  (error as { name?: string })?.name === 'TransactionCanceledException' ? (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons : undefined;

/**
 * Sends the writes, 100 per TransactWriteItems, several calls in flight, retrying what was
 * throttled until the deadline. Answers each write's outcome, in order. When a transaction is
 * cancelled, the writes cancelled only for the others go out again at once, without those that
 * were throttled or in conflict (which follow after a backoff), so that one hot item never holds
 * back the rest. A call that timed out may have taken effect: its writes go out again, and their
 * conditions (on what was read) make the second attempt a conflict rather than a second write.
 */
export async function writeConditionally(client: DynamoDBClient, writes: readonly TransactWriteItem[], io: IoContext, counter: CallCounter): Promise<WriteOutcome[]> {
  const outcomes = new Array<WriteOutcome>(writes.length).fill(FAILED);
  const send = async (group: number[], attempt: number): Promise<void> => {
    if (io.now() >= io.deadlineMs) {
      io.log('WARN', 'TransactWriteItems: no time left', { writes: group.length, attempts: attempt });
      return;
    }
    const now: number[] = [];
    const later: number[] = [];
    try {
      counter.add('TransactWriteItems');
      const items = group.map((i) => writes[i]!);
      await call(io, (abortSignal) => client.send(new TransactWriteItemsCommand({ TransactItems: items }), { abortSignal }));
      for (let k = 0; k < group.length; k++) outcomes[group[k]!] = WRITTEN;
      return;
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (reasons !== undefined && reasons.length === group.length) {
        const refused: string[] = [];
        group.forEach((i, k) => {
          const reason = reasons[k];
          const conflict = conflictOf(reason);
          if (conflict) outcomes[i] = conflictOutcome(conflict);
          else if (reason?.Code === undefined || reason.Code === 'None') now.push(i);
          else if (RETRYABLE_REASONS.has(reason.Code)) later.push(i);
          else refused.push(reason.Code);
        });
        if (refused.length > 0) io.log('ERROR', 'TransactWriteItems: writes refused', { reasons: [...new Set(refused)], writes: refused.length });
        if (later.length > 0) io.log('WARN', 'TransactWriteItems: writes throttled or in conflict, retrying', { writes: later.length, attempt });
      } else if (isRetryable(error) || reasons !== undefined) {
        // Throttled or timed out as a whole (or cancelled without reasons to tell the writes apart).
        io.log('WARN', 'TransactWriteItems failed, retrying', { writes: group.length, attempt, ...errorDetail(error) });
        later.push(...group);
      } else {
        io.log('ERROR', 'TransactWriteItems failed, not retryable', { writes: group.length, ...errorDetail(error) });
        return;
      }
    }
    await Promise.all([
      now.length > 0 ? send(now, attempt) : undefined,
      (async () => {
        if (later.length === 0) return;
        if (await waitForRetry(io, attempt)) await send(later, attempt + 1);
        else io.log('WARN', 'TransactWriteItems: no time left to retry', { writes: later.length, attempts: attempt + 1 });
      })(),
    ]);
  };
  await mapPool(chunk(writes.map((_, i) => i), MAX_TRANSACT_WRITE_ITEMS), io.concurrency, (part) => send(part, 0));
  return outcomes;
}
