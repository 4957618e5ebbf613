/**
 * How the processor calls AWS: within the invocation's deadline (io.ts), each call abandoned after
 * a timeout, retryable failures retried with full-jitter backoff, several calls in flight. Every
 * failure is logged before it is retried or given up.
 */
import { BatchGetItemCommand, type AttributeValue, type BatchGetItemCommandOutput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CallTimeoutError, UnprocessedKeysError } from '../errors';
import type { CallCounter, IoContext } from '../io';
import { MAX_BATCH_GET_KEYS } from '../limits';
import { errorDetail } from '../log';

const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'TooManyRequestsException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  // Firehose's throttling and unavailability, for a whole call ("Back off and retry the operation"):
  // https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html#API_PutRecordBatch_Errors
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
]);

/** Throttling, timeouts and 5xx are worth another try; validation and permission errors are not. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof CallTimeoutError || error instanceof UnprocessedKeysError) return true;
  const e = error as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (RETRYABLE.has(e?.name ?? '') || RETRYABLE.has(e?.code ?? '')) return true;
  if (e?.$retryable) return true;
  return (e?.$metadata?.httpStatusCode ?? 0) >= 500;
}

/** Full-jitter delay before retry number `attempt` (0-based). */
export const backoffMs = (io: IoContext, attempt: number): number =>
  io.random() * Math.min(io.backoffCapMs, io.backoffBaseMs * 2 ** attempt);

/**
 * Sleeps before the next attempt if, after the wait, a call can still answer before the deadline
 * (as long as this invocation's calls took); answers false (no time left) otherwise.
 */
export async function waitForRetry(io: IoContext, attempt: number): Promise<boolean> {
  const delay = backoffMs(io, attempt);
  if (io.now() + delay + (io.latency?.expectedMs() ?? 0) >= io.deadlineMs) return false;
  await io.sleep(delay);
  return true;
}

/** The same calls with an earlier deadline: a phase that must leave time for the phases after it. */
export const withDeadline = (io: IoContext, deadlineMs: number): IoContext => ({ ...io, deadlineMs: Math.min(io.deadlineMs, deadlineMs) });

/** A phase's share of the time left: its deadline when `share` of what remains is its to use. */
export const shareOfTimeLeft = (io: IoContext, share: number): IoContext => withDeadline(io, io.now() + Math.max(0, io.deadlineMs - io.now()) * share);

/**
 * One AWS call, abandoned after min(call timeout, time left before the deadline) (the SDK request
 * is aborted too). How long it took to answer is recorded (io.latency).
 */
export async function call<T>(io: IoContext, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = Math.max(1, Math.min(io.callTimeoutMs, io.deadlineMs - io.now()));
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Settled before the abort, so that the call fails as timed out (retryable) whatever the abort makes the request throw.
      reject(new CallTimeoutError(`AWS call exceeded ${timeoutMs} ms`));
      controller.abort();
    }, timeoutMs);
  });
  const started = io.now();
  let answered = false;
  try {
    const result = await Promise.race([send(controller.signal), timeout]);
    answered = true;
    return result;
  } catch (error) {
    answered = !(error instanceof CallTimeoutError);
    throw error;
  } finally {
    clearTimeout(timer);
    if (answered) io.latency?.observe(io.now() - started);
  }
}

/**
 * Sends a batch of entries, then again only those still failing, with backoff, until all are in
 * or the deadline comes. `attempt` answers the entries that failed; a throw counts as all failed
 * (retried if retryable, given up at once otherwise). `operation` names the call in the logs.
 */
export async function sendWithRetries<T>(
  io: IoContext,
  operation: string,
  entries: T[],
  attempt: (pending: T[], abortSignal: AbortSignal) => Promise<T[]>,
): Promise<{ failed: T[]; retries: number }> {
  let pending = entries;
  for (let retries = 0; ; retries++) {
    try {
      pending = await call(io, (abortSignal) => attempt(pending, abortSignal));
      if (pending.length === 0) return { failed: [], retries };
      io.log('WARN', `${operation}: entries not taken, retrying`, { entries: pending.length, attempt: retries });
    } catch (error) {
      if (!isRetryable(error)) {
        io.log('ERROR', `${operation} failed, not retryable`, { entries: pending.length, ...errorDetail(error) });
        return { failed: pending, retries };
      }
      io.log('WARN', `${operation} failed, retrying`, { entries: pending.length, attempt: retries, ...errorDetail(error) });
    }
    if (!(await waitForRetry(io, retries))) {
      io.log('WARN', `${operation}: no time left to retry`, { entries: pending.length, attempts: retries + 1 });
      return { failed: pending, retries };
    }
  }
}

/** Retries a single call (throttling, timeouts) until the deadline; rethrows anything else, logged. */
export async function retrying<T>(io: IoContext, operation: string, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(io, fn);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      io.log('WARN', `${operation} failed, retrying`, { attempt, ...errorDetail(error) });
      if (!(await waitForRetry(io, attempt))) throw error;
    }
  }
}

/** A DynamoDB item, as the SDK's low-level client reads and writes it (every store's). */
export type Item = Record<string, AttributeValue>;

/**
 * Every item of a paginated DynamoDB Query or Scan: pages read one after another from each page's
 * LastEvaluatedKey, each page retried like any call and counted (`onPage` sees each answer, e.g. its
 * consumed capacity).
 */
export async function allItems<P extends { Items?: Item[]; LastEvaluatedKey?: Item }>(
  io: IoContext,
  counter: CallCounter,
  operation: 'Query' | 'Scan',
  page: (startKey: Item | undefined, abortSignal: AbortSignal) => Promise<P>,
  onPage?: (out: P) => void,
): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    counter.add(operation);
    const out = await retrying(io, operation, (abortSignal) => page(startKey, abortSignal));
    onPage?.(out);
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * Every item of these keys of one table, by BatchGetItem: MAX_BATCH_GET_KEYS keys a call (more is
 * a ValidationException), several calls in flight, each retried like any call and counted; the
 * keys a call leaves in UnprocessedKeys (throttling, the 16 MB answer limit) go out again after a
 * backoff until the deadline, then UnprocessedKeysError (retryable).
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
 * `onAnswer` sees each answer with its items (e.g. their consumed capacity). Answers in no order.
 */
export async function batchGetAll(
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  keys: readonly Item[],
  io: IoContext,
  counter: CallCounter,
  options: {
    consistentRead?: boolean;
    projection?: { expression: string; names: Record<string, string> };
    returnConsumedCapacity?: boolean;
    onAnswer?: (out: BatchGetItemCommandOutput, items: Item[]) => void;
  } = {},
): Promise<Item[]> {
  const found: Item[] = [];
  await mapPool(chunk([...keys], MAX_BATCH_GET_KEYS), io.concurrency, async (batch) => {
    let pending: Item[] = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      counter.add('BatchGetItem');
      const request = {
        Keys: pending,
        ...(options.consistentRead ? { ConsistentRead: true } : {}),
        ...(options.projection ? { ProjectionExpression: options.projection.expression, ExpressionAttributeNames: options.projection.names } : {}),
      };
      const out = await retrying(io, 'BatchGetItem', (abortSignal) =>
        client.send(
          new BatchGetItemCommand({ RequestItems: { [tableName]: request }, ...(options.returnConsumedCapacity ? { ReturnConsumedCapacity: 'TOTAL' } : {}) }),
          { abortSignal },
        ),
      );
      const items = out.Responses?.[tableName] ?? [];
      options.onAnswer?.(out, items);
      found.push(...items);
      pending = (out.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined) ?? [];
      if (pending.length > 0 && !(await waitForRetry(io, attempt))) throw new UnprocessedKeysError(`BatchGetItem left ${pending.length} keys unprocessed`);
    }
  });
  return found;
}

/**
 * Sends entries in chunks of `size` (several chunks in flight), each chunk through
 * sendWithRetries: the batch APIs that answer which entries failed (SQS SendMessageBatch,
 * EventBridge PutEvents).
 */
export async function sendInChunks<T>(
  io: IoContext,
  operation: string,
  entries: T[],
  size: number,
  attempt: (pending: T[], abortSignal: AbortSignal) => Promise<T[]>,
): Promise<{ failed: T[]; retries: number }> {
  return sendInGroups(io, operation, chunk(entries, size), attempt);
}

/**
 * Sends each group as one call (several in flight), each through sendWithRetries: for APIs whose
 * calls are limited by size as well as by count (Firehose PutRecordBatch), grouped by the caller.
 */
export async function sendInGroups<T>(
  io: IoContext,
  operation: string,
  groups: T[][],
  attempt: (pending: T[], abortSignal: AbortSignal) => Promise<T[]>,
): Promise<{ failed: T[]; retries: number }> {
  const results = await mapPool(groups, io.concurrency, (group) => sendWithRetries(io, operation, group, attempt));
  return { failed: results.flatMap((r) => r.failed), retries: results.reduce((n, r) => n + r.retries, 0) };
}

/** Runs fn over items with at most `concurrency` in flight; results in input order. */
export async function mapPool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export const chunk = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));
