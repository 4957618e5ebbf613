/** aws-calls.ts: batchGetAll, the one batch read of every store (alert store, console store). */
import { BatchGetItemCommand, DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { batchGetAll } from '../../../../../handlers/processor/adapters/aws-calls';
import { UnprocessedKeysError } from '../../../../../handlers/processor/errors';
import { CallCounter } from '../../../../../handlers/processor/io';
import { MAX_BATCH_GET_KEYS } from '../../../../../handlers/processor/limits';
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
