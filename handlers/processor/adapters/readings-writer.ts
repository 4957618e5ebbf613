/** Rollup items → BatchWriteItem, 25 per call, several in flight, unprocessed items retried. */
import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { READINGS_TABLE } from '../../../src/contract';
import type { Item } from '../core/rollup';
import { sendInChunks, type CallCounter, type IoContext } from './io';

/** DynamoDB BatchWriteItem limit. */
export const MAX_BATCH_WRITE_ITEMS = 25;

export interface WriteResult {
  /** Indices (into the items given) that are still unwritten. */
  failed: number[];
  retries: number;
}

const keyOf = (item: Item) => `${item[READINGS_TABLE.partitionKey]?.S}\u0000${item[READINGS_TABLE.sortKey]?.S}`;

export async function writeItems(
  client: DynamoDBClient,
  tableName: string,
  items: Item[],
  io: IoContext,
  counter: CallCounter,
  log: (message: string, detail: object) => void,
): Promise<WriteResult> {
  const indexed = items.map((item, index) => ({ item, index }));
  const result = await sendInChunks(
    io,
    indexed,
    MAX_BATCH_WRITE_ITEMS,
    async (pending, abortSignal) => {
      counter.add('BatchWriteItem');
      const out = await client.send(
        new BatchWriteItemCommand({
          RequestItems: { [tableName]: pending.map(({ item }) => ({ PutRequest: { Item: item } })) },
        }),
        { abortSignal },
      );
      const unprocessed = out.UnprocessedItems?.[tableName] ?? [];
      if (unprocessed.length === 0) return [];
      const left = new Set(unprocessed.map((w) => keyOf(w.PutRequest!.Item as Item)));
      return pending.filter(({ item }) => left.has(keyOf(item)));
    },
    (error, pending) => log('BatchWriteItem failed, not retryable', { error: String(error), items: pending.length }),
  );
  return { failed: result.failed.map(({ index }) => index), retries: result.retries };
}
