/** Rollup items → BatchWriteItem, 25 per call, several in flight, unprocessed items retried. */
import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { READINGS_TABLE } from '../../../src/contract';
import type { Item } from '../core/rollup';
import { call, chunk, isRetryable, mapPool, waitForRetry, type CallCounter, type IoContext } from './io';

/** DynamoDB BatchWriteItem limit. */
export const MAX_BATCH_WRITE_ITEMS = 25;

export interface WriteResult {
  /** Indices (into the items given) that are still unwritten. */
  failed: number[];
  retries: number;
}

const keyOf = (item: Record<string, { S?: string }>) =>
  `${item[READINGS_TABLE.partitionKey]?.S}\u0000${item[READINGS_TABLE.sortKey]?.S}`;

export async function writeItems(
  client: DynamoDBClient,
  tableName: string,
  items: Item[],
  io: IoContext,
  counter: CallCounter,
  log: (message: string, detail: object) => void,
): Promise<WriteResult> {
  let retries = 0;
  const indexed = items.map((item, index) => ({ item, index }));
  const failedPerChunk = await mapPool(chunk(indexed, MAX_BATCH_WRITE_ITEMS), io.concurrency, async (batch) => {
    let pending = batch;
    for (let attempt = 0; ; attempt++) {
      try {
        counter.add('BatchWriteItem');
        const out = await call(io, (abortSignal) =>
          client.send(
            new BatchWriteItemCommand({
              RequestItems: { [tableName]: pending.map(({ item }) => ({ PutRequest: { Item: item } })) },
            }),
            { abortSignal },
          ),
        );
        const unprocessed: WriteRequest[] = out.UnprocessedItems?.[tableName] ?? [];
        if (unprocessed.length === 0) return [];
        const left = new Set(unprocessed.map((w) => keyOf(w.PutRequest!.Item as Record<string, { S?: string }>)));
        pending = pending.filter(({ item }) => left.has(keyOf(item as Record<string, { S?: string }>)));
      } catch (error) {
        if (!isRetryable(error)) {
          log('BatchWriteItem failed, not retryable', { error: String(error), items: pending.length });
          return pending.map(({ index }) => index);
        }
      }
      retries++;
      if (!(await waitForRetry(io, attempt))) return pending.map(({ index }) => index);
    }
  });
  return { failed: failedPerChunk.flat(), retries };
}
