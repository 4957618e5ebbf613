/**
 * The capacity, quota and cost model of a city's deployment. Pure: a function of the city's
 * numbers and the stack's design constants. Every AWS figure carries its source; prices are
 * us-east-1 list prices (USD) as published on the pricing pages cited, and change over time.
 */
import { DEFAULTS } from './config';
import { PlanInputError } from './errors';
import { buildLayers } from './index';

export { PlanInputError };

/** Alarms the template creates (each is a standard-resolution alarm on the bill). */
const ALARM_COUNT = buildLayers(DEFAULTS).alarms.length;

/** AWS limits, quotas and prices the model uses, each with its source. */
export const AWS = {
  kinesis: {
    // https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
    recordsPerShardPerSecond: 1_000,
    bytesPerShardPerSecond: 1_048_576,
    /** Default shard quota per account: 500 in us-east-1, us-west-2, eu-west-1; 200 elsewhere. */
    shardQuota: (region: string) => (['us-east-1', 'us-west-2', 'eu-west-1'].includes(region) ? 500 : 200),
    // https://aws.amazon.com/kinesis/data-streams/pricing/
    shardHourUsd: 0.015,
    /** PUT payload units: one per 25 KB of a record. */
    putPayloadUnitsPerMillionUsd: 0.014,
    onDemandStreamHourUsd: 0.04,
    onDemandIngestPerGbUsd: 0.08,
    onDemandRetrievalPerGbUsd: 0.04,
  },
  iot: {
    // https://docs.aws.amazon.com/general/latest/gr/iot-core.html (adjustable)
    inboundPublishesPerSecond: (region: string) =>
      ['us-east-1', 'us-west-2', 'eu-west-1'].includes(region) ? 20_000 : 10_000,
    publishesPerSecondPerConnection: 100,
    // https://aws.amazon.com/iot-core/pricing/ (messages metered in 5 KB increments; monthly tiers)
    messageTiers: [
      { upToMillions: 1_000, perMillionUsd: 1.0 },
      { upToMillions: 5_000, perMillionUsd: 0.8 },
      { upToMillions: Infinity, perMillionUsd: 0.7 },
    ],
    rulesTriggeredPerMillionUsd: 0.15,
    actionsExecutedPerMillionUsd: 0.15,
    connectionMinutesPerMillionUsd: 0.08,
  },
  lambda: {
    // https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    accountConcurrency: 1_000,
    /** Lambda keeps this much of the account's concurrency unreserved. */
    unreservedMinimum: 100,
    // https://aws.amazon.com/lambda/pricing/ (arm64)
    requestsPerMillionUsd: 0.2,
    gbSecondUsd: 0.0000133334,
  },
  dynamodb: {
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
    partitionWcuPerSecond: 1_000,
    tableWcuQuota: 40_000,
    /** A new on-demand table serves this much at once without pre-warming. */
    newOnDemandTableWcu: 4_000,
    // https://aws.amazon.com/dynamodb/pricing/
    onDemandWriteUnitsPerMillionUsd: 0.625,
    provisionedWcuHourUsd: 0.00065,
    storageGbMonthUsd: 0.25,
  },
  eventbridge: {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
    putEventsPerSecond: (region: string) =>
      ['us-east-1', 'us-west-2', 'eu-west-1'].includes(region) ? 10_000 : 2_400,
    // https://aws.amazon.com/eventbridge/pricing/
    customEventsPerMillionUsd: 1.0,
  },
  sns: {
    // https://docs.aws.amazon.com/general/latest/gr/sns.html (email: hard limit)
    emailMessagesPerSecond: 10,
  },
  firehose: {
    // https://aws.amazon.com/firehose/pricing/ (ingestion billed in 5 KB increments per record)
    ingestPerGbUsd: 0.029,
    billingIncrementBytes: 5_120,
    formatConversionPerGbUsd: 0.018,
  },
  s3: {
    // https://aws.amazon.com/s3/pricing/
    standardGbMonthUsd: 0.023,
  },
  cloudwatch: {
    // https://aws.amazon.com/cloudwatch/pricing/
    logsIngestPerGbUsd: 0.5,
    customMetricMonthUsd: 0.3,
    standardAlarmMonthUsd: 0.1,
    dashboardMonthUsd: 3,
  },
} as const;

/** Design assumptions of the model, each with why. */
export const ASSUMPTIONS = {
  /** A reading in the brief's format, as the IoT rule writes it (with received_at, thing_name). */
  readingBytes: 300,
  /** A rollup item (about 20 attributes): under 1 KB, so one write unit, one more for the index. */
  itemWriteUnits: 1,
  indexWriteUnits: 1,
  /** A full 60 s window item at 1 Hz (tests/unit/enrich-rollup.test.ts measures 866 bytes). */
  itemBytes: 900,
  /** Headroom on shards, write capacity and concurrency. */
  headroom: 1.2,
  concurrencyHeadroom: 1.25,
  /**
   * The zone index must hold a hot zone even with no rollup (BatchingWindowSeconds 0), five times
   * over (catch-up after an outage delivers several windows at once).
   */
  zoneIndexSafetyFactor: 5,
  /** Peak alert rate: one sensor in five changes level (up or down) in an hour. */
  transitionsPerSensorHour: 0.2,
  /** Processor time per invocation: fixed part plus compute per record (npm run bench). */
  invocationFixedMs: 60,
  computeMsPerRecord: 0.004,
  /** Parquet with Snappy against the JSON readings. */
  parquetCompressionRatio: 8,
  /** EMF lines per invocation: one for the batch, one per zone; bytes per line. */
  emfLineBytes: 350,
  /** Custom metrics: 10 processor metrics plus 2 per zone. */
  processorMetrics: 10,
  secondsPerMonth: 30 * 24 * 3_600,
} as const;

export interface PlanInput {
  sensors: number;
  hz: number;
  zones: number;
  /** Share of all sensors in the busiest zone (downtown). */
  hotZoneShare: number;
  windowSeconds: number;
  region: string;
}

export const PLAN_DEFAULTS = {
  zones: 200,
  hotZoneShare: 0.04,
  windowSeconds: DEFAULTS.parameters.batchingWindowSeconds,
  region: 'us-east-1',
} as const;

export interface QuotaCheck {
  name: string;
  needed: number;
  limit: number;
  unit: string;
  ok: boolean;
  action: string;
  source: string;
}

export interface CostLine {
  service: string;
  monthlyUsd: number;
  detail: string;
}

export interface Plan {
  input: PlanInput;
  load: {
    recordsPerSecond: number;
    bytesPerSecond: number;
    itemsPerSecond: number;
    writeUnitsPerSecond: number;
    hotZoneSensors: number;
    hottestZoneKeyWcuPerSecond: number;
    invocationsPerSecond: number;
    recordsPerInvocation: number;
    alertsPerSecond: number;
  };
  recommended: {
    KinesisStreamMode: 'PROVISIONED';
    KinesisShardCount: number;
    ProcessorParallelizationFactor: number;
    ProcessorReservedConcurrency: number;
    DynamoDBWriteCapacity: number;
    ZoneIndexShards: number;
    BatchingWindowSeconds: number;
  };
  quotas: QuotaCheck[];
  costs: CostLine[];
  monthlyTotalUsd: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Checks a city's numbers, listing every problem with the flag that sets it. */
export function validatePlanInput(input: PlanInput): PlanInput {
  const problems: string[] = [];
  if (!Number.isInteger(input.sensors) || input.sensors < 1) problems.push(`--sensors: got ${input.sensors}, expected a whole number ≥ 1`);
  if (!(input.hz > 0 && input.hz <= 100)) problems.push(`--hz: got ${input.hz}, expected a number above 0 and at most 100`);
  if (!Number.isInteger(input.zones) || input.zones < 1) problems.push(`--zones: got ${input.zones}, expected a whole number ≥ 1`);
  if (!(input.hotZoneShare > 0 && input.hotZoneShare <= 1)) problems.push(`--hot-zone-share: got ${input.hotZoneShare}, expected a fraction above 0 and at most 1`);
  if (!Number.isInteger(input.windowSeconds) || input.windowSeconds < 0 || input.windowSeconds > 300) {
    problems.push(`--window: got ${input.windowSeconds}, expected a whole number of seconds from 0 to 300`);
  }
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(input.region)) problems.push(`--region: got '${input.region}', expected a region such as us-east-1`);
  if (problems.length > 0) throw new PlanInputError(problems.join('\n'));
  return input;
}

/** The plan for a city: load, recommended parameters, quota checks and monthly cost. */
export function plan(raw: PlanInput): Plan {
  const input = validatePlanInput(raw);
  const { sensors, hz, region } = input;
  const A = ASSUMPTIONS;
  const recordsPerSecond = sensors * hz;
  const bytesPerSecond = recordsPerSecond * A.readingBytes;

  // Kinesis: records/s and bytes/s per shard, plus headroom.
  const shardsForRecords = recordsPerSecond / AWS.kinesis.recordsPerShardPerSecond;
  const shardsForBytes = bytesPerSecond / AWS.kinesis.bytesPerShardPerSecond;
  const shards = Math.max(1, Math.ceil(Math.max(shardsForRecords, shardsForBytes) * A.headroom));
  const parallelization = DEFAULTS.parameters.processorParallelizationFactor;
  const lanes = shards * parallelization;
  const reservedConcurrency = Math.ceil(lanes * A.concurrencyHeadroom);

  // DynamoDB: one item per sensor per window (or per reading when a window holds less than one).
  const itemsPerSensorPerSecond = input.windowSeconds > 0 ? Math.min(hz, 1 / input.windowSeconds) : hz;
  const itemsPerSecond = sensors * itemsPerSensorPerSecond;
  const writeUnitsPerSecond = itemsPerSecond * (A.itemWriteUnits + A.indexWriteUnits);
  const tableWcu = Math.ceil(itemsPerSecond * A.itemWriteUnits * A.headroom);
  const hotZoneSensors = Math.ceil(sensors * input.hotZoneShare);
  const zoneIndexShards = Math.max(
    1,
    Math.ceil((hotZoneSensors * hz * A.indexWriteUnits * A.zoneIndexSafetyFactor) / AWS.dynamodb.partitionWcuPerSecond),
  );
  const hottestZoneKeyWcuPerSecond = (hotZoneSensors * itemsPerSensorPerSecond * A.indexWriteUnits) / zoneIndexShards;

  // Lambda: each lane is invoked once per window while data flows (at least once a second).
  const invocationsPerSecond = lanes / Math.max(1, input.windowSeconds);
  const recordsPerInvocation = recordsPerSecond / invocationsPerSecond;
  const alertsPerSecond = (sensors * A.transitionsPerSensorHour) / 3_600;

  const quotas: QuotaCheck[] = [
    {
      name: 'IoT Core inbound publishes per second (account)',
      needed: recordsPerSecond,
      limit: AWS.iot.inboundPublishesPerSecond(region),
      unit: 'publishes/s',
      ok: recordsPerSecond <= AWS.iot.inboundPublishesPerSecond(region),
      action: `request an increase to at least ${Math.ceil(recordsPerSecond * A.headroom).toLocaleString('en-US')}/s (Service Quotas, AWS IoT Core) before the sensors go live`,
      source: 'https://docs.aws.amazon.com/general/latest/gr/iot-core.html',
    },
    {
      name: 'IoT Core publishes per second per connection',
      needed: hz,
      limit: AWS.iot.publishesPerSecondPerConnection,
      unit: 'publishes/s',
      ok: hz <= AWS.iot.publishesPerSecondPerConnection,
      action: 'lower the sensor rate (fixed limit)',
      source: 'https://docs.aws.amazon.com/general/latest/gr/iot-core.html',
    },
    {
      name: 'Kinesis shards (account)',
      needed: shards,
      limit: AWS.kinesis.shardQuota(region),
      unit: 'shards',
      ok: shards <= AWS.kinesis.shardQuota(region),
      action: 'request a shard quota increase (Service Quotas, Kinesis Data Streams)',
      source: 'https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html',
    },
    {
      name: 'Lambda concurrency (account, keeping 100 unreserved)',
      needed: reservedConcurrency,
      limit: AWS.lambda.accountConcurrency - AWS.lambda.unreservedMinimum,
      unit: 'concurrent executions',
      ok: reservedConcurrency <= AWS.lambda.accountConcurrency - AWS.lambda.unreservedMinimum,
      action: 'request a concurrency increase (Service Quotas, AWS Lambda)',
      source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
    },
    {
      name: 'DynamoDB write units per table (readings table)',
      needed: Math.ceil(itemsPerSecond * A.itemWriteUnits),
      limit: AWS.dynamodb.tableWcuQuota,
      unit: 'WCU/s',
      ok: itemsPerSecond * A.itemWriteUnits <= AWS.dynamodb.tableWcuQuota,
      action: 'request a table throughput increase, or lengthen the batching window',
      source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html',
    },
    {
      name: 'DynamoDB hottest zone index key (one partition)',
      needed: round2(hottestZoneKeyWcuPerSecond),
      limit: AWS.dynamodb.partitionWcuPerSecond,
      unit: 'WCU/s',
      ok: hottestZoneKeyWcuPerSecond <= AWS.dynamodb.partitionWcuPerSecond,
      action: 'raise ZoneIndexShards',
      source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html',
    },
    {
      name: 'EventBridge PutEvents entries per second (account)',
      needed: round2(alertsPerSecond),
      limit: AWS.eventbridge.putEventsPerSecond(region),
      unit: 'events/s',
      ok: alertsPerSecond <= AWS.eventbridge.putEventsPerSecond(region),
      action: 'request a PutEvents quota increase',
      source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html',
    },
    {
      name: 'SNS email deliveries per second (at the peak alert rate)',
      needed: round2(alertsPerSecond),
      limit: AWS.sns.emailMessagesPerSecond,
      unit: 'messages/s',
      ok: alertsPerSecond <= AWS.sns.emailMessagesPerSecond,
      action: 'deliver alerts to an HTTPS, SMS or queue subscriber instead of email (hard limit)',
      source: 'https://docs.aws.amazon.com/general/latest/gr/sns.html',
    },
  ];

  const S = A.secondsPerMonth;
  const perMillion = (count: number, usd: number) => (count / 1e6) * usd;
  const tiered = (count: number) => {
    let usd = 0;
    let from = 0;
    for (const tier of AWS.iot.messageTiers) {
      const inTier = Math.max(0, Math.min(count / 1e6, tier.upToMillions) - from);
      usd += inTier * tier.perMillionUsd;
      from = tier.upToMillions;
    }
    return usd;
  };
  const gb = (bytes: number) => bytes / 1024 ** 3;
  const messageUnits = Math.ceil(A.readingBytes / 5_120);
  const invocationSeconds = (A.invocationFixedMs + recordsPerInvocation * A.computeMsPerRecord) / 1000;
  const memoryGb = DEFAULTS.parameters.processorMemoryMb / 1024;
  const monthlyBytes = bytesPerSecond * S;
  const emfLinesPerSecond = invocationsPerSecond * (1 + input.zones);
  const costs: CostLine[] = [
    {
      service: 'IoT Core',
      monthlyUsd:
        tiered(recordsPerSecond * S * messageUnits) +
        perMillion(recordsPerSecond * S, AWS.iot.rulesTriggeredPerMillionUsd + AWS.iot.actionsExecutedPerMillionUsd) +
        perMillion(sensors * (S / 60), AWS.iot.connectionMinutesPerMillionUsd),
      detail: 'messages (tiered), rule triggers and Kinesis actions, connection minutes; Basic Ingest would remove the messaging charge',
    },
    {
      service: 'Kinesis Data Streams',
      monthlyUsd: shards * (S / 3_600) * AWS.kinesis.shardHourUsd + perMillion(recordsPerSecond * S, AWS.kinesis.putPayloadUnitsPerMillionUsd),
      detail:
        `${shards} shards (provisioned) and PUT payload units; ON_DEMAND would be ~$` +
        Math.round(
          (S / 3_600) * AWS.kinesis.onDemandStreamHourUsd +
            gb(monthlyBytes) * AWS.kinesis.onDemandIngestPerGbUsd +
            // two consumers read everything: the processor and Firehose
            2 * gb(monthlyBytes) * AWS.kinesis.onDemandRetrievalPerGbUsd,
        ).toLocaleString('en-US'),
    },
    {
      service: 'Lambda',
      monthlyUsd:
        perMillion(invocationsPerSecond * S, AWS.lambda.requestsPerMillionUsd) +
        invocationsPerSecond * S * invocationSeconds * memoryGb * AWS.lambda.gbSecondUsd,
      detail: `${round2(invocationsPerSecond)} invocations/s of ~${Math.round(recordsPerInvocation).toLocaleString('en-US')} records, arm64, ${DEFAULTS.parameters.processorMemoryMb} MB`,
    },
    {
      service: 'DynamoDB (on demand)',
      monthlyUsd:
        perMillion(writeUnitsPerSecond * S, AWS.dynamodb.onDemandWriteUnitsPerMillionUsd) +
        gb(itemsPerSecond * A.itemBytes * 2 * DEFAULTS.parameters.readingRetentionDays * 86_400) * AWS.dynamodb.storageGbMonthUsd,
      detail:
        `${Math.round(writeUnitsPerSecond).toLocaleString('en-US')} write units/s (rollups + zone index), ${DEFAULTS.parameters.readingRetentionDays}-day TTL storage; ` +
        `PROVISIONED at ${tableWcu.toLocaleString('en-US')} WCU for table and index would be ~$${Math.round(2 * tableWcu * (S / 3_600) * AWS.dynamodb.provisionedWcuHourUsd).toLocaleString('en-US')}`,
    },
    {
      service: 'Firehose',
      monthlyUsd:
        gb(recordsPerSecond * S * Math.max(A.readingBytes, AWS.firehose.billingIncrementBytes)) * AWS.firehose.ingestPerGbUsd +
        gb(monthlyBytes) * AWS.firehose.formatConversionPerGbUsd,
      detail: 'ingestion (5 KB billing increments per record) and Parquet conversion',
    },
    {
      service: 'S3',
      monthlyUsd: gb(monthlyBytes / A.parquetCompressionRatio) * AWS.s3.standardGbMonthUsd,
      detail: 'one month of raw readings as Parquet (grows by this each month until lifecycle tiering)',
    },
    {
      service: 'EventBridge + SNS',
      monthlyUsd: perMillion(alertsPerSecond * S, AWS.eventbridge.customEventsPerMillionUsd),
      detail: `${round2(alertsPerSecond)} alerts/s at peak (upper bound)`,
    },
    {
      service: 'CloudWatch',
      monthlyUsd:
        gb(emfLinesPerSecond * A.emfLineBytes * S) * AWS.cloudwatch.logsIngestPerGbUsd +
        (A.processorMetrics + 2 * input.zones) * AWS.cloudwatch.customMetricMonthUsd +
        ALARM_COUNT * AWS.cloudwatch.standardAlarmMonthUsd +
        AWS.cloudwatch.dashboardMonthUsd,
      detail: `EMF logs (${Math.round(emfLinesPerSecond)} lines/s), ${A.processorMetrics + 2 * input.zones} custom metrics, alarms, dashboard`,
    },
  ].map((c) => ({ ...c, monthlyUsd: Math.round(c.monthlyUsd) }));

  return {
    input,
    load: {
      recordsPerSecond,
      bytesPerSecond,
      itemsPerSecond,
      writeUnitsPerSecond,
      hotZoneSensors,
      hottestZoneKeyWcuPerSecond: round2(hottestZoneKeyWcuPerSecond),
      invocationsPerSecond: round2(invocationsPerSecond),
      recordsPerInvocation: Math.round(recordsPerInvocation),
      alertsPerSecond: round2(alertsPerSecond),
    },
    recommended: {
      KinesisStreamMode: 'PROVISIONED',
      KinesisShardCount: shards,
      ProcessorParallelizationFactor: parallelization,
      ProcessorReservedConcurrency: reservedConcurrency,
      DynamoDBWriteCapacity: Math.max(5, tableWcu),
      ZoneIndexShards: Math.min(100, zoneIndexShards),
      BatchingWindowSeconds: input.windowSeconds,
    },
    quotas,
    costs,
    monthlyTotalUsd: costs.reduce((sum, c) => sum + c.monthlyUsd, 0),
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** The plan as Markdown (docs/capacity.md and the CLI's text output). */
export function planMarkdown(p: Plan): string {
  const { input, load, recommended } = p;
  const lines = [
    `# Capacity plan: ${fmt(input.sensors)} sensors at ${input.hz} Hz`,
    '',
    `Generated by \`npm run plan -- --sensors ${input.sensors} --hz ${input.hz} --zones ${input.zones} --hot-zone-share ${input.hotZoneShare} --window ${input.windowSeconds} --region ${input.region}\`. ` +
      'Constants and their sources: `src/capacity.ts`. Prices: us-east-1 list prices; check the pricing pages before budgeting.',
    '',
    '## Load',
    '',
    '| what | value |',
    '| --- | --- |',
    `| readings | ${fmt(load.recordsPerSecond)}/s, ${fmt(Math.round(load.bytesPerSecond / 1024))} KiB/s |`,
    `| rollup items (one per sensor per ${input.windowSeconds} s window) | ${fmt(load.itemsPerSecond)}/s → ${fmt(load.writeUnitsPerSecond)} write units/s with the zone index |`,
    `| busiest zone | ${fmt(load.hotZoneSensors)} sensors → ${load.hottestZoneKeyWcuPerSecond} WCU/s on its hottest zone_shard key |`,
    `| processor | ${load.invocationsPerSecond} invocations/s of ~${fmt(load.recordsPerInvocation)} records |`,
    `| alerts at peak | ${load.alertsPerSecond}/s (one sensor in five changing level in an hour) |`,
    '',
    '## Recommended parameters',
    '',
    '| parameter | value |',
    '| --- | --- |',
    ...Object.entries(recommended).map(([k, v]) => `| ${k} | ${typeof v === 'number' ? fmt(v) : v} |`),
    '',
    '## Quotas',
    '',
    '| quota | needed | default limit | status |',
    '| --- | --- | --- | --- |',
    ...p.quotas.map((q) => `| [${q.name}](${q.source}) | ${fmt(q.needed)} ${q.unit} | ${fmt(q.limit)} | ${q.ok ? 'ok' : `**increase needed**: ${q.action}`} |`),
    '',
    '## Monthly cost (USD, estimate)',
    '',
    '| service | per month | what |',
    '| --- | ---: | --- |',
    ...p.costs.map((c) => `| ${c.service} | ${fmt(c.monthlyUsd)} | ${c.detail} |`),
    `| **total** | **${fmt(p.monthlyTotalUsd)}** | |`,
    '',
  ];
  return lines.join('\n');
}
