/**
 * The raw-data sink: the batch's valid readings to the lake's delivery stream, as few large records.
 *
 * A batch comes back whenever any output failed one of its records (Lambda retries from the lowest
 * failed sequence number), so without a memory the lake would take every valid reading of the
 * batch again on each retry. The container remembers which records (shard and sequence number) it
 * delivered, and a retry puts only the others: a reading reaches the lake once per container that
 * delivered it (a retry on another container, after a crash or a timeout, puts it once more), plus
 * Firehose's own at-least-once (a PutRecordBatch whose answer was lost and is sent again).
 */
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import { packRecords, putRawRecords } from '../adapters/raw-data';
import type { AnalysedBatch } from '../core/batch';
import type { Sink } from './sink';

/** Records remembered as delivered, per container: the last few batches (a retry follows its batch at once). */
export const DELIVERED_MEMORY = 50_000;

/** Positions of the valid readings, in batch order (every record not quarantined). */
export function validPositions(batch: AnalysedBatch): number[] {
  const positions: number[] = [];
  for (let i = 0; i < batch.payloads.length; i++) if (batch.payloads[i] !== undefined) positions.push(i);
  return positions;
}

/** A record's identity in the stream. */
const recordId = (batch: AnalysedBatch, position: number): string => {
  const r = batch.records[position]!;
  return `${r.shardId}:${r.sequenceNumber}`;
};

/**
 * Delivered records, remembered in arrival order and forgotten oldest first: a Set (lookups) with
 * a queue of its entries (eviction).
 */
class DeliveredRecords {
  private readonly ids = new Set<string>();
  private readonly order: string[] = [];
  private head = 0;
  constructor(private readonly limit: number) {}
  has(id: string): boolean {
    return this.ids.has(id);
  }
  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    this.order.push(id);
    while (this.ids.size > this.limit) this.ids.delete(this.order[this.head++]!);
    if (this.head > this.limit) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** Puts the batch's valid readings to `deliveryStreamName`; the readings of records Firehose did not take are retried. */
export function rawDataSink(client: FirehoseClient, deliveryStreamName: string, memory = DELIVERED_MEMORY): Sink {
  const delivered = new DeliveredRecords(memory);
  return async (batch, { io, counter }) => {
    const positions = validPositions(batch).filter((p) => !delivered.has(recordId(batch, p)));
    const records = packRecords(batch.payloads, positions);
    if (records.length === 0) return { failedRecords: [] };
    const { failed } = await putRawRecords(client, deliveryStreamName, records, io, counter);
    const failedRecords = failed.flatMap((r) => r.readings);
    const notTaken = new Set(failedRecords);
    for (const p of positions) if (!notTaken.has(p)) delivered.add(recordId(batch, p));
    return {
      failedRecords,
      counts: { rawRecordsDelivered: records.length - failed.length, rawDeliveryFailures: failed.length },
    };
  };
}
