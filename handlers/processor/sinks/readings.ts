/**
 * The readings sink: each batch's readings of a sensor's window (grouped by the batch analysis,
 * core/batch.ts, into one delta per sensor and window of reading time, core/window.ts) are added to
 * that window's item, exactly once whatever the delivery, by the window store
 * (adapters/window-store.ts: the item's layout, its conditional writes, the container's memory of
 * the windows it wrote). The readings of a window not written in time are reported for retry.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { WindowStore } from '../adapters/window-store';
import type { ProcessorConfig } from '../config';
import type { Sink } from './sink';

/** Adds every window's new readings to its item; end-to-end latency is measured when done. */
export function readingsSink(client: DynamoDBClient, config: ProcessorConfig): Sink {
  const store = new WindowStore({ client, tableName: config.readingsTableName, options: config });
  return async (batch, { io, counter, now }) => {
    const { written, failed } = await store.addAll(batch.windows, io, counter);
    const storedAt = now();
    const failedRecords: number[] = [];
    for (const delta of failed) for (const r of delta.readings) failedRecords.push(r.recordIndex);
    return {
      failedRecords,
      counts: { itemsWritten: written },
      latencies: { endToEndMs: batch.receivedAtMs.map((receivedAt) => storedAt - receivedAt) },
    };
  };
}
