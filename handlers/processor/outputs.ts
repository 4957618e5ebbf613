/**
 * The processor's outputs, their runtime side: per output of contract/outputs.ts (which declares
 * its bindings, the resource it creates, its cost and its line in the deploy guide, as data), the
 * AWS clients it uses and how its sink is built; tsc asks for an entry here for every output
 * declared there. `Clients`, `createClients` and `buildClients` (the one way tests and benchmarks
 * make clients) derive from CLIENTS; tests check that every client is used by an output and ships
 * in `dependencies` (tests/unit/handlers/processor/outputs.test.ts).
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:https';
import { PROCESSOR_OUTPUTS, type OutputName } from '../../contract';
import type { ProcessorConfig } from './config';
import { alertSink } from './sinks/alerts';
import { quarantineSink } from './sinks/quarantine';
import { rawDataSink } from './sinks/raw-data';
import { readingsSink } from './sinks/readings';
import type { Sink } from './sinks/sink';
import { statusSink } from './sinks/status';

/** What every client is made with: the emulator's endpoint and credentials in tests, retries and sockets in Lambda. */
export type ClientOptions = Pick<DynamoDBClientConfig, 'region' | 'endpoint' | 'credentials' | 'maxAttempts' | 'requestHandler'>;

/**
 * The AWS SDK clients the outputs use: the npm package each comes from (it must be a runtime
 * dependency), the sockets it keeps for the calls in flight in Lambda (DEFAULT_IO.concurrency per
 * sink), and how it is made.
 */
export const CLIENTS = {
  // Window writes, the alert store's calls and the sensor-status updates.
  dynamodb: { package: '@aws-sdk/client-dynamodb', maxSockets: 64, create: (o: ClientOptions) => new DynamoDBClient(o) },
  eventbridge: { package: '@aws-sdk/client-eventbridge', maxSockets: 40, create: (o: ClientOptions) => new EventBridgeClient(o) },
  // Send to the client's endpoint (AWS_ENDPOINT_URL against an emulator), not the queue URL's host.
  sqs: { package: '@aws-sdk/client-sqs', maxSockets: 40, create: (o: ClientOptions) => new SQSClient({ ...o, useQueueUrlAsEndpoint: false }) },
  // One PutRecordBatch per ~4 MB of valid readings: a 10,000-record batch makes one call.
  firehose: { package: '@aws-sdk/client-firehose', maxSockets: 8, create: (o: ClientOptions) => new FirehoseClient(o) },
} as const;

export type ClientName = keyof typeof CLIENTS;
/** Every client of CLIENTS, by name. */
export type Clients = { [K in ClientName]: ReturnType<(typeof CLIENTS)[K]['create']> };
type AnyClient = Clients[ClientName];

/** One output's runtime side: the clients its sink takes (only those), and its sink. */
export interface Output<C extends ClientName = ClientName> {
  clients: readonly C[];
  sink: (config: ProcessorConfig, clients: Pick<Clients, C>) => Sink;
}

/** An output, its sink typed to see only the clients it declares. */
const output = <const C extends ClientName>(spec: Output<C>): Output<C> => spec;

/** Every output of contract/outputs.ts, by its name: its clients and its sink. */
export const OUTPUTS = {
  readings: output({
    clients: ['dynamodb'],
    sink: (config, c) => readingsSink(c.dynamodb, config),
  }),
  alerts: output({
    clients: ['dynamodb', 'eventbridge'],
    sink: (config, c) =>
      alertSink({
        dynamodb: c.dynamodb,
        eventbridge: c.eventbridge,
        alertStateTableName: config.alertStateTableName,
        readingsTableName: config.readingsTableName,
        eventBusName: config.eventBusName,
        policy: config,
      }),
  }),
  quarantine: output({
    clients: ['sqs'],
    sink: (config, c) => quarantineSink(c.sqs, config.quarantineQueueUrl),
  }),
  rawData: output({
    clients: ['firehose'],
    sink: (config, c) => rawDataSink(c.firehose, config.deliveryStreamName),
  }),
  status: output({
    clients: ['dynamodb'],
    sink: (config, c) => statusSink(c.dynamodb, config),
  }),
} satisfies Record<OutputName, Output>;

/**
 * Every client of CLIENTS made with `options` (per client), each passed through `adapt`: the one
 * way to make the processor's clients, for Lambda (createClients), against an emulator (moto) or
 * in memory (tests/doubles/fake-aws.ts), so that a new client reaches all of them.
 */
export function buildClients(
  options: (name: ClientName) => ClientOptions = () => ({}),
  adapt: <T extends AnyClient>(client: T, name: ClientName) => T = (client) => client,
): Clients {
  const clients: Partial<Record<ClientName, AnyClient>> = {};
  for (const name of Object.keys(CLIENTS) as ClientName[]) clients[name] = adapt(CLIENTS[name].create(options(name)), name);
  return clients as Clients;
}

/**
 * Clients for Lambda, built once per container, each with its sockets (CLIENTS). The SDK retries
 * once; the sinks retry on top, within the invocation's deadline. Clients honour
 * AWS_ENDPOINT_URL, so the same bundle runs against moto.
 */
export function createClients(): Clients {
  return buildClients(
    (name) => ({
      maxAttempts: 2,
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ keepAlive: true, maxSockets: CLIENTS[name].maxSockets }) }),
    }),
    // The SDK's logger middleware copies every request, field by field, for its logger even when
    // the logger does nothing (the default): an eighth of the processor's CPU on a 10,000-record
    // batch (npm run bench, 2.). The processor logs its calls itself (adapters/aws-calls.ts), so it goes.
    (client) => {
      client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
      return client;
    },
  );
}

/** The name the AWS SDK gives its logger middleware (@aws-sdk/core loggerMiddlewareOptions). */
export const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

/** The sinks of every output, in the order contract/outputs.ts declares them. */
export function processorSinks(config: ProcessorConfig, clients: Clients): Sink[] {
  return (Object.keys(PROCESSOR_OUTPUTS) as OutputName[]).map((name) => (OUTPUTS[name] as Output).sink(config, clients));
}
