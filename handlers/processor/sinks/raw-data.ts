/** The raw-data sink: the batch's valid readings to the lake's delivery stream, as few large records. */
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import { packRecords, putRawRecords } from '../adapters/raw-data';
import type { AnalysedBatch } from '../core/batch';
import type { Sink } from './sink';

/** Positions of the valid readings, in batch order (every record not quarantined). */
export function validPositions(batch: AnalysedBatch): number[] {
  const invalid = new Uint8Array(batch.records.length);
  for (const q of batch.quarantined) invalid[q.index] = 1;
  const positions: number[] = [];
  for (let i = 0; i < invalid.length; i++) if (invalid[i] === 0) positions.push(i);
  return positions;
}

/** Puts the batch's valid readings to `deliveryStreamName`; the readings of records Firehose did not take are retried. */
export function rawDataSink(client: FirehoseClient, deliveryStreamName: string): Sink {
  return async (batch, { io, counter }) => {
    const records = packRecords(batch.records, validPositions(batch));
    if (records.length === 0) return { failedRecords: [] };
    const { failed } = await putRawRecords(client, deliveryStreamName, records, io, counter);
    return {
      failedRecords: failed.flatMap((r) => r.readings),
      counts: { rawRecordsDelivered: records.length - failed.length, rawDeliveryFailures: failed.length },
    };
  };
}
