/**
 * Lambda entry point: wiring only. Configuration is read and clients are built once per
 * container (outside the handler); every invocation goes to processBatch.
 * Clients honour AWS_ENDPOINT_URL, so the same bundle runs against moto.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { Agent } from 'node:https';
import { readConfig } from './config';
import { processBatch, type Clients } from './handler';

const config = readConfig(process.env);
/**
 * Sockets for the calls each adapter keeps in flight (DEFAULT_IO.concurrency): DynamoDB serves
 * both the readings writer and the alert store. The SDK retries once; the adapters retry on top,
 * within the invocation's deadline.
 */
const clientConfig = (maxSockets: number) => ({
  maxAttempts: 2,
  requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ keepAlive: true, maxSockets }) }),
});
const clients: Clients = {
  dynamodb: new DynamoDBClient(clientConfig(80)),
  eventbridge: new EventBridgeClient(clientConfig(40)),
  // Send to the client's endpoint (AWS_ENDPOINT_URL against an emulator), not the queue URL's host.
  sqs: new SQSClient({ ...clientConfig(40), useQueueUrlAsEndpoint: false }),
};

export async function handler(event: KinesisStreamEvent, context: Context): Promise<KinesisStreamBatchResponse> {
  const outcome = await processBatch(event, context, { config, clients });
  return outcome.response;
}
