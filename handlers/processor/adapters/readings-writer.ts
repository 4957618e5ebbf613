/** Items → BatchWriteItem, 25 per call, several in flight, unprocessed items retried. */
import { BatchWriteItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { READINGS_TABLE } from '../../../contract';
import { sendInChunks, type CallCounter, type IoContext } from './aws-calls';

export type Item = Record<string, AttributeValue>;

/** DynamoDB BatchWriteItem limit. */
export const MAX_BATCH_WRITE_ITEMS = 25;

export interface WriteResult {
  /** Indices (into the items given) that are still unwritten. */
  failed: number[];
  retries: number;
}

const keyOf = (item: Item) => `${item[READINGS_TABLE.partitionKey]?.S}\u0000${item[READINGS_TABLE.sortKey]?.S}`;

/** Writes items 25 per BatchWriteItem, several calls in flight; answers the positions still unwritten at the deadline. */
export async function writeItems(
  client: DynamoDBClient,
  tableName: string,
  items: Item[],
  io: IoContext,
  counter: CallCounter,
): Promise<WriteResult> {
  const indexed = items.map((item, index) => ({ item, index }));
  const result = await sendInChunks(
    io,
    'BatchWriteItem',
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
  );
  return { failed: result.failed.map(({ index }) => index), retries: result.retries };
}
