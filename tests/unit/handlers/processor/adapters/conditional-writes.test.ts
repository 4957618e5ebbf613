/**
 * conditional-writes.ts: a conditional write's conflict recognised in one place (conflictOf, a
 * ConditionalWriteConflict with the item that stands), and answered as the same outcome by a
 * single write and by a transaction.
 */
import { DynamoDBClient, TransactWriteItemsCommand, UpdateItemCommand, type AttributeValue, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { conditionalWrite, conflictOf, writeConditionally } from '../../../../../handlers/processor/adapters/conditional-writes';
import { ConditionalWriteConflict } from '../../../../../handlers/processor/errors';
import { CallCounter } from '../../../../../handlers/processor/io';
import { throttled } from '../../../../helpers/aws-errors';
import { fakeIo } from '../../../../helpers/fake-io';

type Item = Record<string, AttributeValue>;

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

describe('writeConditionally (TransactWriteItems, one outcome per write)', () => {
  const ddb = mockClient(DynamoDBClient);
  const client = new DynamoDBClient({});
  const write = (i: number): TransactWriteItem => ({ Put: { TableName: 't', Item: { pk: { S: `k${i}` } }, ConditionExpression: 'attribute_not_exists(pk)' } });
  const sent = () => ddb.commandCalls(TransactWriteItemsCommand).map((c) => c.args[0].input.TransactItems!.map((w) => w.Put!.Item!.pk!.S));
  const cancelled = (codes: (string | { Code: string; Item?: object })[]) =>
    Object.assign(new Error('Transaction cancelled'), {
      name: 'TransactionCanceledException',
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: codes.map((c) => (typeof c === 'string' ? { Code: c } : c)),
    });
  beforeEach(() => ddb.reset());

  it('sends 100 writes per call and answers each written', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});
    const counter = new CallCounter();
    const outcomes = await writeConditionally(client, Array.from({ length: 250 }, (_, i) => write(i)), fakeIo().io, counter);
    expect(outcomes.every((o) => o.kind === 'written')).toBe(true);
    expect(sent().map((c) => c.length)).toEqual([100, 100, 50]);
    expect(counter.counts).toEqual({ TransactWriteItems: 3 });
  });

  it('answers a failed condition as a conflict with the stored item, and sends the writes cancelled only for it again at once', async () => {
    ddb.on(TransactWriteItemsCommand).rejectsOnce(cancelled(['None', { Code: 'ConditionalCheckFailed', Item: { pk: { S: 'k1' }, v: { N: '7' } } }, 'None'])).resolves({});
    const { io, sleeps } = fakeIo();
    const outcomes = await writeConditionally(client, [write(0), write(1), write(2)], io, new CallCounter());
    expect(outcomes).toEqual([{ kind: 'written' }, { kind: 'conflict', item: { pk: { S: 'k1' }, v: { N: '7' } } }, { kind: 'written' }]);
    expect(sent()).toEqual([['k0', 'k1', 'k2'], ['k0', 'k2']]);
    expect(sleeps).toEqual([]);
  });

  it('keeps a write throttled in every transaction from holding back the others', async () => {
    ddb.on(TransactWriteItemsCommand).callsFake((input: { TransactItems: TransactWriteItem[] }) => {
      const codes = input.TransactItems.map((w) => (w.Put!.Item!.pk!.S === 'k1' ? 'ThrottlingError' : 'None'));
      if (codes.includes('ThrottlingError')) throw cancelled(codes);
      return {};
    });
    const outcomes = await writeConditionally(client, [write(0), write(1), write(2)], fakeIo(1_000).io, new CallCounter());
    expect(outcomes.map((o) => o.kind)).toEqual(['written', 'failed', 'written']);
  });

  it('retries a call throttled or timed out as a whole, with backoff, until the deadline', async () => {
    ddb.on(TransactWriteItemsCommand).rejectsOnce(throttled()).resolves({});
    const { io, sleeps } = fakeIo();
    expect((await writeConditionally(client, [write(0)], io, new CallCounter())).map((o) => o.kind)).toEqual(['written']);
    expect(sleeps).toHaveLength(1);
    ddb.reset();
    ddb.on(TransactWriteItemsCommand).rejects(throttled());
    expect((await writeConditionally(client, [write(0)], fakeIo(500).io, new CallCounter())).map((o) => o.kind)).toEqual(['failed']);
  });

  it('does not retry a write refused for good (a validation error)', async () => {
    ddb.on(TransactWriteItemsCommand).rejects(cancelled(['ValidationError', 'None']));
    ddb.on(TransactWriteItemsCommand, { TransactItems: [write(1)] }).resolves({});
    const outcomes = await writeConditionally(client, [write(0), write(1)], fakeIo().io, new CallCounter());
    expect(outcomes.map((o) => o.kind)).toEqual(['failed', 'written']);
  });
});
