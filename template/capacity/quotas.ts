/**
 * The quotas a city's load meets: each needed figure against AWS's default limit, whether it can
 * be raised, what to do, and the AWS page that states it.
 */
import { ASSUMPTIONS, DEFAULT_PARAMETERS as P } from './assumptions';
import { AWS } from './aws-figures';
import type { PlanInput } from './input';
import type { dynamoWindows, Load, Sizing } from './sizing';
import { fmt, round2 } from './units';

export interface QuotaCheck {
  name: string;
  needed: number;
  limit: number;
  unit: string;
  ok: boolean;
  /** A hard limit cannot be raised: the design has to change. */
  adjustable: boolean;
  action: string;
  source: string;
}

/** Every quota the plan checks, for a city's load on the defaults with the chosen table billing. */
export function quotaChecks(
  input: PlanInput,
  load: Load,
  size: Sizing,
  d: ReturnType<typeof dynamoWindows>,
  billing: 'PROVISIONED' | 'PAY_PER_REQUEST',
): QuotaCheck[] {
  const { sensors, hz, region } = input;
  const A = ASSUMPTIONS;
  const directPutBytes = AWS.firehose.directPutBytesPerSecond(region);
  const quota = (q: Omit<QuotaCheck, 'ok' | 'adjustable'> & { adjustable?: boolean }): QuotaCheck => ({
    ...q,
    ok: q.needed <= q.limit,
    adjustable: q.adjustable ?? true,
  });
  const provisionedTable = billing === 'PROVISIONED';
  return [
    quota({
      name: 'IoT Core inbound publishes per second (account)',
      needed: load.recordsPerSecond,
      limit: AWS.iot.inboundPublishesPerSecond(region),
      unit: 'publishes/s',
      action: `request an increase to at least ${fmt(Math.ceil(load.recordsPerSecond * A.headroom))}/s (Service Quotas, AWS IoT Core) before the sensors go live`,
      source: 'https://docs.aws.amazon.com/general/latest/gr/iot-core.html#message-broker-limits',
    }),
    quota({
      name: 'IoT Core outbound publishes per second (account; BROKER mode: the rule subscription counts)',
      needed: P.ingestMode === 'BROKER' ? load.recordsPerSecond : 0,
      limit: AWS.iot.outboundPublishesPerSecond(region),
      unit: 'publishes/s',
      action: 'keep IngestMode BASIC_INGEST, or request an increase (Service Quotas, AWS IoT Core)',
      source: 'https://docs.aws.amazon.com/general/latest/gr/iot-core.html#message-broker-limits',
    }),
    quota({
      name: `IoT Core CONNECT requests per second (account): the whole fleet reconnecting within ${A.reconnectTargetSeconds} s`,
      needed: Math.ceil(sensors / A.reconnectTargetSeconds),
      limit: AWS.iot.connectsPerSecond(region),
      unit: 'connects/s',
      action: `a full reconnect takes at least ${fmt(Math.ceil(sensors / AWS.iot.connectsPerSecond(region)))} s: sensors must reconnect with jittered exponential backoff, and request an increase`,
      source: 'https://docs.aws.amazon.com/general/latest/gr/iot-core.html#message-broker-limits',
    }),
    quota({
      name: 'IoT Core publishes per second per connection',
      needed: hz,
      limit: AWS.iot.publishesPerSecondPerConnection,
      unit: 'publishes/s',
      adjustable: false,
      action: 'lower the sensor rate',
      source: 'https://docs.aws.amazon.com/general/latest/gr/iot-core.html#message-broker-limits',
    }),
    quota({
      name: 'Kinesis shards (account)',
      needed: size.shards,
      limit: AWS.kinesis.shardQuota(region),
      unit: 'shards',
      action: 'request a shard quota increase (Service Quotas, Kinesis Data Streams)',
      source: 'https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html',
    }),
    quota({
      name: 'Lambda concurrency (account, keeping 100 unreserved)',
      needed: size.reservedConcurrency,
      limit: AWS.lambda.accountConcurrency - AWS.lambda.unreservedMinimum,
      unit: 'concurrent executions',
      action: 'request a concurrency increase (Service Quotas, AWS Lambda)',
      source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
    }),
    quota({
      name: `DynamoDB write capacity per table (readings table${provisionedTable ? ' and its index, provisioned' : ', on demand'})`,
      needed: provisionedTable ? d.tableCapacity + d.indexCapacity : Math.ceil(d.tableUnits + load.indexWritesPerSecond),
      limit: AWS.dynamodb.tableWcuQuota,
      unit: 'WCU/s',
      action: 'request a table throughput increase, or lengthen the batching window',
      source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html',
    }),
    quota({
      name: 'DynamoDB hottest zone index key (one partition)',
      needed: load.hottestZoneKeyWcuPerSecond,
      limit: AWS.dynamodb.partitionWcuPerSecond,
      unit: 'WCU/s',
      adjustable: false,
      action: 'raise ZoneIndexShards (a partition limit cannot be raised)',
      source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html',
    }),
    quota({
      name: 'Firehose Direct PUT throughput (per delivery stream)',
      needed: round2(load.firehoseBytesPerSecond / 1_048_576),
      limit: directPutBytes / 1_048_576,
      unit: 'MiB/s',
      action: `request an increase to at least ${fmt(Math.ceil((load.firehoseBytesPerSecond * A.headroom) / 1_048_576))} MiB/s (Firehose quota increase form) before going live`,
      source: 'https://docs.aws.amazon.com/firehose/latest/dev/limits.html',
    }),
    quota({
      name: 'Firehose Direct PUT requests per second (per delivery stream)',
      needed: load.invocationsPerSecond,
      limit: AWS.firehose.directPutRequestsPerSecond(region),
      unit: 'requests/s',
      action: 'request an increase, or lengthen the batching window',
      source: 'https://docs.aws.amazon.com/firehose/latest/dev/limits.html',
    }),
    quota({
      name: 'EventBridge PutEvents entries per second (account)',
      needed: load.alertsPerSecond,
      limit: AWS.eventbridge.putEventsPerSecond(region),
      unit: 'events/s',
      action: 'request a PutEvents quota increase',
      source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html',
    }),
    quota({
      name: 'SNS email deliveries per second (at the peak alert rate)',
      needed: load.alertsPerSecond,
      limit: AWS.sns.emailMessagesPerSecond,
      unit: 'messages/s',
      adjustable: false,
      action: 'deliver alerts to an HTTPS, SMS or queue subscriber instead of email',
      source: 'https://docs.aws.amazon.com/general/latest/gr/sns.html',
    }),
  ];
}
