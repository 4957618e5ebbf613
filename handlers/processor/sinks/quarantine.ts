/** The quarantine sink: every invalid record to the quarantine queue with its reason and payload. */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { quarantine } from '../adapters/quarantine';
import type { Sink } from './sink';

/** Sends the batch's invalid records to `queueUrl`; those SQS would not take are retried. */
export function quarantineSink(client: SQSClient, queueUrl: string): Sink {
  return async (batch, { io, counter }) => {
    const sent = await quarantine(client, queueUrl, batch.quarantined, io, counter);
    return { failedRecords: sent.failed.map((i) => batch.quarantined[i]!.index) };
  };
}
