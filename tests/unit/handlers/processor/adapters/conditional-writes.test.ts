/**
 * conditional-writes.ts: a conditional write's conflict recognised in one place (conflictOf, a
 * ConditionalWriteConflict with the item that stands), and answered as the same outcome by a
 * single write and by a transaction.
 */
import { DynamoDBClient, TransactWriteItemsCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { conditionalWrite, conflictOf, writeConditionally } from '../../../../../handlers/processor/adapters/conditional-writes';
import { ConditionalWriteConflict } from '../../../../../handlers/processor/errors';
import { CallCounter } from '../../../../../handlers/processor/io';
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
