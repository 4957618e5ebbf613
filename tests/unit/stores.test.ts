/**
 * The stores' shared pieces (handlers/processor/adapters/): one batchGetAll for every batch read,
 * one recognition of a conditional write's conflict (ConditionalWriteConflict, with the item that
 * stands), one EventBridge publisher for alerts and health events.
 */
import { BatchGetItemCommand, DynamoDBClient, TransactWriteItemsCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SENSOR_HEALTH_EVENT } from '../../contract';
import { batchGetAll, CallCounter } from '../../handlers/processor/adapters/aws-calls';
import { conditionalWrite, conflictOf, writeConditionally } from '../../handlers/processor/adapters/conditional-writes';
import { publishHealthEvents } from '../../handlers/processor/adapters/health-store';
import type { HealthEvent } from '../../handlers/processor/core/health';
import { ConditionalWriteConflict, UnprocessedKeysError } from '../../handlers/processor/errors';
import { MAX_BATCH_GET_KEYS } from '../../handlers/processor/limits';
import { fakeIo } from '../helpers/fake-io';

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

describe('ConditionalWriteConflict (recognised in one place)', () => {
  const stored: Item = { id: { S: 'a' }, version: { N: '3' } };

  it('is a single write\'s ConditionalCheckFailedException, with the item it returned', () => {
    const error = Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException', Item: stored });
    const conflict = conflictOf(error);
    expect(conflict).toBeInstanceOf(ConditionalWriteConflict);
    expect(conflict!.name).toBe('ConditionalWriteConflict');
    expect(conflict!.item).toEqual(stored);
    expect(conflict!.cause).toBe(error);
    expect(conflictOf(Object.assign(new Error('x'), { name: 'ConditionalCheckFailedException' }))!.item).toBeUndefined();
  });

  it('is a transaction\'s ConditionalCheckFailed cancellation reason, with its item', () => {
    expect(conflictOf({ Code: 'ConditionalCheckFailed', Item: stored })!.item).toEqual(stored);
  });

  it('is nothing else: throttling, validation, other cancellation reasons', () => {
    expect(conflictOf(Object.assign(new Error('x'), { name: 'ProvisionedThroughputExceededException' }))).toBeUndefined();
    expect(conflictOf({ Code: 'ThrottlingError' })).toBeUndefined();
    expect(conflictOf({ Code: 'None' })).toBeUndefined();
    expect(conflictOf(undefined)).toBeUndefined();
  });

  describe('the writes answer it as the same outcome', () => {
    const ddb = mockClient(DynamoDBClient);
    beforeEach(() => ddb.reset());

    it('a single conditional write: written, or a conflict with the returned item; other errors thrown', async () => {
      const write = (abortSignal: AbortSignal) => new DynamoDBClient({}).send(new UpdateItemCommand({ TableName: 't', Key: { id: { S: 'a' } } }), { abortSignal });
      ddb.on(UpdateItemCommand).resolvesOnce({}).rejectsOnce(Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException', Item: stored }));
      const counter = new CallCounter();
      expect(await conditionalWrite(fakeIo().io, counter, 'UpdateItem', write)).toEqual({ kind: 'written' });
      expect(await conditionalWrite(fakeIo().io, counter, 'UpdateItem', write)).toEqual({ kind: 'conflict', item: stored });
      ddb.on(UpdateItemCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }));
      await expect(conditionalWrite(fakeIo().io, counter, 'UpdateItem', write)).rejects.toThrow('denied');
      expect(counter.counts.UpdateItem).toBe(3);
    });

    it('a transaction: the write whose condition failed is a conflict with its item', async () => {
      ddb.on(TransactWriteItemsCommand).rejects(
        Object.assign(new Error('cancelled'), { name: 'TransactionCanceledException', CancellationReasons: [{ Code: 'ConditionalCheckFailed', Item: stored }] }),
      );
      const [outcome] = await writeConditionally(new DynamoDBClient({}), [{ Put: { TableName: 't', Item: stored } }], fakeIo().io, new CallCounter());
      expect(outcome).toEqual({ kind: 'conflict', item: stored });
    });
  });
});

describe('one EventBridge publisher (health events go out as the alerts do)', () => {
  const eb = mockClient(EventBridgeClient);
  beforeEach(() => eb.reset());
  const event = (i: number): HealthEvent =>
    ({ event_id: `e-${i}`, sensor_id: `s-${i}`, state: 'SILENT', detected_at: '2026-05-01T12:00:00.000Z' }) as unknown as HealthEvent;

  it('puts 10 per call, answers what EventBridge did not take, and logs the ids of an unanswered call', async () => {
    let call = 0;
    eb.on(PutEventsCommand).callsFake((input) => {
      call++;
      if (call === 1) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      return { Entries: input.Entries.map((_: unknown, i: number) => (i === 0 && call === 2 ? { ErrorCode: 'InternalFailure' } : { EventId: 'x' })) };
    });
    const logs: { message: string; detail?: Record<string, unknown> }[] = [];
    const { io } = fakeIo(10_000, { log: (_level, message, detail) => logs.push({ message, detail: detail as Record<string, unknown> }) });
    const events = Array.from({ length: 12 }, (_, i) => event(i));
    const failed = await publishHealthEvents(new EventBridgeClient({}), 'bus', events, { ...io, concurrency: 1 }, new CallCounter());
    expect(failed).toEqual([]);
    const first = eb.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries!;
    expect(first).toHaveLength(10);
    expect(first[0]).toMatchObject({ EventBusName: 'bus', Source: SENSOR_HEALTH_EVENT.source, DetailType: SENSOR_HEALTH_EVENT.silent, Time: new Date('2026-05-01T12:00:00.000Z') });
    expect(logs.find((l) => l.message === 'PutEvents unanswered: these health events may be published twice')!.detail!.event_ids).toEqual(events.slice(0, 10).map((e) => e.event_id));
  });
});
