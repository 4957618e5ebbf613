/**
 * Lambda entry point: wiring only. Configuration, clients and sinks are built once per container
 * (outside the handler); every invocation goes to processBatch.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { readConfig } from './config';
import { processBatch } from './handler';
import { createClients, processorSinks } from './outputs';

const config = readConfig(process.env);
const sinks = processorSinks(config, createClients());

/** The Lambda handler: one Kinesis batch in, the records to retry out (ReportBatchItemFailures). */
export async function handler(event: KinesisStreamEvent, context: Context): Promise<KinesisStreamBatchResponse> {
  const outcome = await processBatch(event, context, { config, sinks });
  return outcome.response;
}
