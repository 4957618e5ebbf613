/**
 * Lambda entry point: wiring only. Configuration is read and clients are built once per
 * container (outside the handler); every invocation goes to processBatch.
 * Clients honour AWS_ENDPOINT_URL, so the same bundle runs against moto.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { readConfig } from './config';
import { processBatch, type Clients } from './handler';

const config = readConfig(process.env);
const clientConfig = { maxAttempts: 2 };
const clients: Clients = {
  dynamodb: new DynamoDBClient(clientConfig),
  eventbridge: new EventBridgeClient(clientConfig),
  sqs: new SQSClient(clientConfig),
};

export async function handler(event: KinesisStreamEvent, context: Context): Promise<KinesisStreamBatchResponse> {
  const outcome = await processBatch(event, context, { config, clients });
  return outcome.response;
}
