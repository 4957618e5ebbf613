/**
 * aws-calls.ts: batchGetAll, the one batch read of every store (alert store, console store); what
 * is retried and how long it waits; sendInChunks, the batch APIs' shared retry loop; time budgets.
 */
import { BatchGetItemCommand, DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { backoffMs, batchGetAll, call, isRetryable, sendInChunks, shareOfTimeLeft, waitForRetry } from '../../../../../handlers/processor/adapters/aws-calls';
import { CallLatency } from '../../../../../handlers/processor/io';
import { UnprocessedKeysError } from '../../../../../handlers/processor/errors';
import { CallCounter } from '../../../../../handlers/processor/io';
import { MAX_BATCH_GET_KEYS } from '../../../../../handlers/processor/limits';
import { throttled } from '../../../../helpers/aws-errors';
import { fakeIo } from '../../../../helpers/fake-io';

type Item = Record<string, AttributeValue>;
const key = (i: number): Item => ({ id: { S: `k-${i}` } });

describe('batchGetAll (every store that batch-reads)', () => {
  const ddb = mockClient(DynamoDBClient);
  beforeEach(() => ddb.reset());

  it(`reads in calls of at most ${MAX_BATCH_GET_KEYS} keys and answers every item`, async () => {
    ddb.on(BatchGetItemCommand).callsFake((input) => ({ Responses: { t: input.RequestItems.t.Keys.map((k: Item) => ({ ...k, v: { N: '1' } })) } }));
    const counter = new CallCounter();
    const items = await batchGetAll(new DynamoDBClient({}), 't', Array.from({ length: 250 }, (_, i) => key(i)), fakeIo().io, counter, { consistentRead: true });
    const sizes = ddb.commandCalls(BatchGetItemCommand).map((c) => c.args[0].input.RequestItems!.t!.Keys!.length);
    expect(sizes.sort((a, b) => b - a)).toEqual([100, 100, 50]);
    expect(counter.counts.BatchGetItem).toBe(3);
    expect(items.map((i) => i.id!.S).sort()).toEqual(Array.from({ length: 250 }, (_, i) => `k-${i}`).sort());
    expect(ddb.commandCalls(BatchGetItemCommand)[0]!.args[0].input.RequestItems!.t!.ConsistentRead).toBe(true);
  });

  it('sends the keys left in UnprocessedKeys again after a backoff, and only those', async () => {
    let first = true;
    ddb.on(BatchGetItemCommand).callsFake((input) => {
      const keys: Item[] = input.RequestItems.t.Keys;
      if (first) {
        first = false;
        return { Responses: { t: keys.slice(0, 2) }, UnprocessedKeys: { t: { Keys: keys.slice(2) } } };
      }
      return { Responses: { t: keys } };
    });
    const { io, sleeps } = fakeIo();
    const pages: number[] = [];
    const items = await batchGetAll(new DynamoDBClient({}), 't', [key(1), key(2), key(3), key(4)], io, new CallCounter(), {
      projection: { expression: '#p0', names: { '#p0': 'id' } },
      returnConsumedCapacity: true,
      onAnswer: (_, page) => pages.push(page.length),
    });
    const calls = ddb.commandCalls(BatchGetItemCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.RequestItems!.t!.Keys!.map((k) => k.id!.S))).toEqual([['k-1', 'k-2', 'k-3', 'k-4'], ['k-3', 'k-4']]);
    expect(calls[1]).toMatchObject({ ReturnConsumedCapacity: 'TOTAL', RequestItems: { t: { ProjectionExpression: '#p0', ExpressionAttributeNames: { '#p0': 'id' } } } });
    expect(sleeps).toHaveLength(1);
    expect(pages).toEqual([2, 2]);
    expect(items).toHaveLength(4);
  });

  it('gives up with UnprocessedKeysError (retryable) when keys are still unprocessed at the deadline', async () => {
    ddb.on(BatchGetItemCommand).callsFake((input) => ({ UnprocessedKeys: { t: { Keys: input.RequestItems.t.Keys } } }));
    const read = batchGetAll(new DynamoDBClient({}), 't', [key(1)], fakeIo(200).io, new CallCounter());
    await expect(read).rejects.toBeInstanceOf(UnprocessedKeysError);
    expect(ddb.commandCalls(BatchGetItemCommand).length).toBeGreaterThan(1);
  });

  it('makes no call for no keys', async () => {
    expect(await batchGetAll(new DynamoDBClient({}), 't', [], fakeIo().io, new CallCounter())).toEqual([]);
    expect(ddb.commandCalls(BatchGetItemCommand)).toHaveLength(0);
  });
});

describe('io', () => {
  it('retries throttling, timeouts and 5xx, not validation or permission errors', () => {
    expect(isRetryable(throttled())).toBe(true);
    expect(isRetryable({ name: 'TimeoutError' })).toBe(true);
    expect(isRetryable({ name: 'Whatever', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isRetryable({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } })).toBe(false);
    expect(isRetryable({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } })).toBe(false);
  });
  it('backs off with full jitter, capped', () => {
    const { io } = fakeIo(10_000, { random: () => 0.5 });
    expect(backoffMs(io, 0)).toBe(12.5);
    expect(backoffMs(io, 3)).toBe(100);
    expect(backoffMs(io, 20)).toBe(500);
    expect(backoffMs({ ...io, random: () => 0 }, 5)).toBe(0);
  });
});

describe('sendInChunks (the batch APIs\' shared retry loop)', () => {
  const entries = (n: number) => Array.from({ length: n }, (_, i) => i);
  /** A batch call: `fails(entry)` entries come back unprocessed; a throw fails them all. */
  const send = (calls: number[][], behaviour: (pending: number[]) => number[] | Promise<number[]>) => async (pending: number[]) => {
    calls.push(pending);
    return behaviour(pending);
  };

  it('sends chunks of the batch limit, several in flight', async () => {
    const calls: number[][] = [];
    const result = await sendInChunks(fakeIo().io, 'Op', entries(260), 25, send(calls, () => []));
    expect(result).toEqual({ failed: [], retries: 0 });
    expect(calls).toHaveLength(11);
    expect(calls.map((c) => c.length)).toContain(25);
  });

  it('retries only the entries not taken, with backoff', async () => {
    const calls: number[][] = [];
    let first = true;
    const { io, sleeps } = fakeIo();
    const result = await sendInChunks(io, 'Op', entries(3), 25, send(calls, (p) => (first ? ((first = false), [p[1]!]) : [])));
    expect(result).toEqual({ failed: [], retries: 1 });
    expect(calls[1]).toEqual([1]);
    expect(sleeps).toEqual([12.5]);
  });

  it('retries throttling until it passes', async () => {
    let throttles = 2;
    const result = await sendInChunks(fakeIo().io, 'Op', entries(5), 25, async () => {
      if (throttles-- > 0) throw throttled();
      return [];
    });
    expect(result).toEqual({ failed: [], retries: 2 });
  });

  it('gives back exactly the entries not taken when time runs out', async () => {
    // The first chunk always leaves its last entry; the second always throttles.
    const result = await sendInChunks(fakeIo(2_000).io, 'Op', entries(30), 25, async (pending) => {
      if (pending.length === 25 || pending[0] === 24) return [pending[pending.length - 1]!];
      throw throttled();
    });
    expect(result.failed.sort((a, b) => a - b)).toEqual([24, 25, 26, 27, 28, 29]);
  });

  it('abandons a call that hangs, and gives its entries back when no time is left', async () => {
    const { io } = fakeIo(500, { callTimeoutMs: 30 });
    const result = await sendInChunks(io, 'Op', entries(2), 25, () => new Promise(() => undefined));
    expect(result.failed).toEqual([0, 1]);
  });

  it('does not retry a validation error, and logs it', async () => {
    const logged: string[] = [];
    const calls: number[][] = [];
    const { io } = fakeIo(10_000, { log: (_level, message) => logged.push(message) });
    const result = await sendInChunks(io, 'Op', entries(2), 25, async (pending) => {
      calls.push(pending);
      throw Object.assign(new Error('bad'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    });
    expect(result).toEqual({ failed: [0, 1], retries: 0 });
    expect(calls).toHaveLength(1);
    expect(logged).toEqual(['Op failed, not retryable']);
  });
});

describe('time budgets (from the time left, not a fixed call timeout)', () => {
  it('times a call out at the deadline when less than the call timeout is left', async () => {
    const { io } = fakeIo(40, { callTimeoutMs: 3_000 });
    const started = Date.now();
    await expect(call(io, () => new Promise(() => undefined))).rejects.toMatchObject({ name: 'CallTimeoutError', message: 'AWS call exceeded 40 ms' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('retries while a call can still answer before the deadline, however short the time left, as long as this invocation\'s calls took', async () => {
    // 300 ms left: the old rule (a whole 3 s call timeout must fit) refused every retry.
    const { io, advance } = fakeIo(300, { callTimeoutMs: 3_000, random: () => 0, latency: new CallLatency() });
    expect(await waitForRetry(io, 0)).toBe(true);
    io.latency!.observe(250);
    advance(100);
    // 200 ms left, calls have taken 250 ms: no retry.
    expect(await waitForRetry(io, 0)).toBe(false);
  });

  it('gives a step its share of the time left', () => {
    const { io } = fakeIo(8_000);
    expect(shareOfTimeLeft(io, 1 / 4).deadlineMs - io.now()).toBe(2_000);
    expect(shareOfTimeLeft(shareOfTimeLeft(io, 1 / 2), 2).deadlineMs - io.now()).toBe(4_000);
  });
});
