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
import type { InputRecord } from '../core/types';
import type { Sink } from './sink';

/** Records remembered as delivered, per container: the last few batches (a retry follows its batch at once). */
export const DELIVERED_MEMORY = 50_000;

/** Positions of the valid readings, in batch order (every record not quarantined). */
export function validPositions(batch: AnalysedBatch): number[] {
  const positions: number[] = [];
  for (let i = 0; i < batch.records.length; i++) if (batch.payloads.has(i)) positions.push(i);
  return positions;
}

/** Kinesis sequence numbers (decimal strings of up to 128 digits) in their order. */
const compareSequence = (a: string, b: string): number => (a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0);

/**
 * The lowest and highest sequence numbers of a batch's records: its first and last when they are in
 * order, as Lambda delivers a shard's records (one comparison a record, of neighbours), else found
 * by comparing each with both (a batch out of order is still read right, at twice the cost).
 */
export function sequenceRange(records: readonly InputRecord[]): { lowest: string; highest: string } {
  let inOrder = true;
  for (let i = 1; i < records.length && inOrder; i++) inOrder = compareSequence(records[i - 1]!.sequenceNumber, records[i]!.sequenceNumber) < 0;
  let lowest = records[0]!.sequenceNumber;
  let highest = records[records.length - 1]!.sequenceNumber;
  if (!inOrder) {
    highest = lowest;
    for (let i = 1; i < records.length; i++) {
      const n = records[i]!.sequenceNumber;
      if (compareSequence(n, lowest) < 0) lowest = n;
      else if (compareSequence(n, highest) > 0) highest = n;
    }
  }
  return { lowest, highest };
}

/**
 * Records delivered, by shard and sequence number, remembered batch by batch (the newest few) and
 * forgotten oldest batch first once more than `limit` are held. A batch that starts after every
 * record remembered of its shard (a first attempt) is looked up no further; only a retry, which
 * starts at or before them, looks its records up one by one.
 */
class DeliveredRecords {
  private readonly batches: { shardId: string; newest: string; sequenceNumbers: string[]; lookup?: Set<string> }[] = [];
  private held = 0;
  constructor(private readonly limit: number) {}
  /** A test of whether a record of this shard, from `first` on, was delivered; undefined when none can have been. */
  lookup(shardId: string, first: string): ((sequenceNumber: string) => boolean) | undefined {
    const overlapping = this.batches.filter((b) => b.shardId === shardId && compareSequence(b.newest, first) >= 0);
    if (overlapping.length === 0) return undefined;
    const sets = overlapping.map((b) => (b.lookup ??= new Set(b.sequenceNumbers)));
    return (sequenceNumber) => sets.some((set) => set.has(sequenceNumber));
  }
  /**
   * Remembers `sequenceNumbers` as delivered; `newest` is at least the highest of them (the batch's
   * highest: a later batch is looked up one by one whenever it could overlap these, never skipped).
   */
  add(shardId: string, newest: string, sequenceNumbers: string[]): void {
    this.batches.push({ shardId, newest, sequenceNumbers });
    this.held += sequenceNumbers.length;
    while (this.held > this.limit && this.batches.length > 1) this.held -= this.batches.shift()!.sequenceNumbers.length;
  }
}

/** Puts the batch's valid readings to `deliveryStreamName`; the readings of records Firehose did not take are retried. */
export function rawDataSink(client: FirehoseClient, deliveryStreamName: string, memory = DELIVERED_MEMORY): Sink {
  const delivered = new DeliveredRecords(memory);
  return async (batch, { io, counter }) => {
    const { records: input } = batch;
    let positions = validPositions(batch);
    const first = positions.length > 0 ? input[positions[0]!]! : undefined;
    const range = first && sequenceRange(input);
    const wasDelivered = range && delivered.lookup(first.shardId, range.lowest);
    if (wasDelivered) positions = positions.filter((p) => !wasDelivered(input[p]!.sequenceNumber));
    const records = packRecords(input, batch.payloads, positions);
    if (records.length === 0) return { failedRecords: [] };
    const { failed } = await putRawRecords(client, deliveryStreamName, records, io, counter);
    const failedRecords = failed.flatMap((r) => r.readings);
    let taken = positions;
    if (failedRecords.length > 0) {
      const notTaken = new Set(failedRecords);
      taken = positions.filter((p) => !notTaken.has(p));
    }
    // A batch is one shard's records.
    if (taken.length > 0 && range) delivered.add(input[taken[0]!]!.shardId, range.highest, taken.map((p) => input[p]!.sequenceNumber));
    return {
      failedRecords,
      counts: { rawRecordsDelivered: records.length - failed.length, rawDeliveryFailures: failed.length },
    };
  };
}
