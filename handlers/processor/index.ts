/**
 * Lambda entry points: wiring only. `handler` is the processor (Kinesis batches), `detector` the
 * silent-sensor detector (scheduled, handlers/detector/), `consoleApi` the traffic controllers' console
 * API (behind API Gateway, console-api.ts). Each builds its configuration, clients and sinks
 * once per container, on its first invocation: a function reads only its own environment.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { readConfig, type ProcessorConfig } from './config';
import { processBatch } from './handler';
import { createClients, processorSinks } from './outputs';
import type { Sink } from './sinks/sink';
import type { detector as detectorHandler } from '../detector/detector';
import type { consoleApi as consoleApiHandler } from './console-api';

let processor: { config: ProcessorConfig; sinks: Sink[] } | undefined;

/** The Lambda handler: one Kinesis batch in, the records to retry out (ReportBatchItemFailures). */
export async function handler(event: KinesisStreamEvent, context: Context): Promise<KinesisStreamBatchResponse> {
  if (!processor) {
    const config = readConfig(process.env);
    processor = { config, sinks: processorSinks(config, createClients()) };
  }
  const outcome = await processBatch(event, context, processor);
  return outcome.response;
}

/**
 * The silent-sensor detector (handlers/detector/detector.ts), exported here so that the bundle's
 * entry point, and the template's `index.detector`, stay the same. Imported on its first call, so that the processor's
 * containers never evaluate the detector's modules (the IoT client among them).
 */
export async function detector(...args: Parameters<typeof detectorHandler>): ReturnType<typeof detectorHandler> {
  const { detector: run } = await import('../detector/detector');
  return run(...args);
}

/**
 * The console API (console-api.ts). Imported on its first call, like the detector, so that the
 * processor's containers never evaluate its modules (the CloudWatch and IoT clients among them).
 */
export async function consoleApi(...args: Parameters<typeof consoleApiHandler>): ReturnType<typeof consoleApiHandler> {
  const { consoleApi: run } = await import('./console-api');
  return run(...args);
}
