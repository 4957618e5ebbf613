/**
 * The processor's outputs: the AWS clients they use and the sinks, in one list. Adding an output
 * is its sink file, a line here, and its resource binding in contract/env.ts (the variable that
 * names the resource and the permissions the template grants on it).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:https';
import type { ProcessorConfig } from './config';
import { alertSink } from './sinks/alerts';
import { quarantineSink } from './sinks/quarantine';
import { rawDataSink } from './sinks/raw-data';
import { readingsSink } from './sinks/readings';
import type { Sink } from './sinks/sink';
import { statusSink } from './sinks/status';

export interface Clients {
  dynamodb: DynamoDBClient;
  eventbridge: EventBridgeClient;
  sqs: SQSClient;
  firehose: FirehoseClient;
}

/**
 * Clients for Lambda, built once per container. Sockets for the calls each sink keeps in flight
 * (DEFAULT_IO.concurrency each): DynamoDB serves both the readings and the alert state. The SDK
 * retries once; the sinks retry on top, within the invocation's deadline. Clients honour
 * AWS_ENDPOINT_URL, so the same bundle runs against moto.
 */
export function createClients(): Clients {
  const clientConfig = (maxSockets: number) => ({
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ keepAlive: true, maxSockets }) }),
  });
  const clients = {
    // Window writes and the alert store's calls.
    dynamodb: new DynamoDBClient(clientConfig(64)),
    eventbridge: new EventBridgeClient(clientConfig(40)),
    // Send to the client's endpoint (AWS_ENDPOINT_URL against an emulator), not the queue URL's host.
    sqs: new SQSClient({ ...clientConfig(40), useQueueUrlAsEndpoint: false }),
    // One PutRecordBatch per ~4 MB of valid readings: a 10,000-record batch makes one call.
    firehose: new FirehoseClient(clientConfig(8)),
  };
  // The SDK's logger middleware copies every request, field by field, for its logger even when the
  // logger does nothing (the default): an eighth of the processor's CPU on a 10,000-record batch
  // (npm run bench, 2.). The processor logs its calls itself (adapters/aws-calls.ts), so it goes.
  for (const client of Object.values(clients)) client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  return clients;
}

/** The name the AWS SDK gives its logger middleware (@aws-sdk/core loggerMiddlewareOptions). */
export const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

/** The sinks every batch goes to, all at once. */
export function processorSinks(config: ProcessorConfig, clients: Clients): Sink[] {
  return [
    readingsSink(clients.dynamodb, config),
    quarantineSink(clients.sqs, config.quarantineQueueUrl),
    alertSink({
      dynamodb: clients.dynamodb,
      eventbridge: clients.eventbridge,
      alertStateTableName: config.alertStateTableName,
      readingsTableName: config.readingsTableName,
      eventBusName: config.eventBusName,
      policy: config,
    }),
    rawDataSink(clients.firehose, config.deliveryStreamName),
    statusSink(clients.dynamodb, config),
  ];
}
