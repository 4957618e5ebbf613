/**
 * The capacity, quota and cost model of a city's deployment. Pure: a function of the city's
 * numbers and the stack's design constants. Every AWS figure carries its source; prices are
 * us-east-1 list prices (USD) as published on the pricing pages cited, and change over time.
 *
 * Three designs are priced side by side so the effect of each choice is visible: the naive one
 * (10 shards, an item and an alert per reading), per-batch items with a Firehose record per
 * reading, and the defaults.
 */
import { METRIC, sensorStatusItemsFor } from '../contract';
import { DEFAULTS } from './config';
import { PlanInputError } from './errors';
import { buildLayers, buildTemplate } from './index';
import { consoleCosts, type ConsoleCostLine } from './capacity-console';
import type { OutputName } from '../handlers/processor/outputs';

export { PlanInputError };

/**
 * Where each processor output's AWS charges are in the plan: the cost line (of the defaults'
 * `costs`) whose service starts with `line`, or why it has none. Keyed by every output of
 * handlers/processor/outputs.ts, so a new output does not compile until its cost is placed here
 * (tests/unit/outputs.test.ts checks that each line is in the plan).
 */
export const OUTPUT_COSTS: Record<OutputName, { line: string } | { none: string }> = {
  readings: { line: 'DynamoDB' },
  // Only readings that fail validation: a few SQS requests a day, under a cent a month.
  quarantine: { none: 'only readings that fail validation (a few SQS requests a day)' },
  alerts: { line: 'EventBridge + SNS' },
  rawData: { line: 'Firehose' },
  status: { line: "Traffic controllers' console" },
};

/** Alarms the template creates (each is a standard-resolution alarm on the bill). */
const ALARM_COUNT = buildLayers(DEFAULTS).alarms.length;
const P = DEFAULTS.parameters;

const BIG_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const big = (region: string) => BIG_REGIONS.includes(region);

/** AWS limits, quotas and prices the model uses, each with its source. */
export const AWS = {
  kinesis: {
    // https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
    recordsPerShardPerSecond: 1_000,
    bytesPerShardPerSecond: 1_048_576,
    /** Default shard quota per account: 500 in us-east-1, us-west-2, eu-west-1; 200 elsewhere. */
    shardQuota: (region: string) => (big(region) ? 500 : 200),
    // https://aws.amazon.com/kinesis/data-streams/pricing/
    shardHourUsd: 0.015,
    /** PUT payload units: one per 25 KB of a record. */
    putPayloadUnitBytes: 25 * 1024,
    putPayloadUnitsPerMillionUsd: 0.014,
    /** On-demand Standard: per stream-hour, per GB in (each record rounded up to 1 KB), per GB out. */
    onDemandStreamHourUsd: 0.04,
    onDemandIngestPerGbUsd: 0.08,
    onDemandRecordRoundingBytes: 1_024,
    onDemandRetrievalPerGbUsd: 0.04,
    /**
     * On-demand Advantage (an account-level mode): no per-stream charge, ingest and retrieval "at
     * least 60% lower than On-demand Standard"
     * (https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html); modelled at 40%.
     */
    onDemandAdvantageShare: 0.4,
  },
  iot: {
    // https://docs.aws.amazon.com/general/latest/gr/iot-core.html#message-broker-limits (adjustable)
    inboundPublishesPerSecond: (region: string) => (big(region) ? 20_000 : 10_000),
    outboundPublishesPerSecond: (region: string) => (big(region) ? 20_000 : 10_000),
    connectsPerSecond: (region: string) => (big(region) ? 500 : 100),
    publishesPerSecondPerConnection: 100,
    // https://aws.amazon.com/iot-core/pricing/ (messages metered in 5 KB increments; monthly tiers)
    messageBillingBytes: 5_120,
    messageTiers: [
      { upToMillions: 1_000, perMillionUsd: 1.0 },
      { upToMillions: 5_000, perMillionUsd: 0.8 },
      { upToMillions: Infinity, perMillionUsd: 0.7 },
    ],
    rulesTriggeredPerMillionUsd: 0.15,
    actionsExecutedPerMillionUsd: 0.15,
    connectionMinutesPerMillionUsd: 0.08,
    /** Basic Ingest: "no messaging costs" (https://docs.aws.amazon.com/iot/latest/developerguide/iot-basic-ingest.html). */
    basicIngestMessageUsd: 0,
    // https://aws.amazon.com/iot-device-management/pricing/ and https://aws.amazon.com/iot-core/pricing/
    bulkRegistrationPerThousandUsd: 0.1,
    registryOperationsPerMillionUsd: 1.25,
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
    /** Write units: one per 1 KB of the larger of the old and new item. */
    writeUnitBytes: 1_024,
    /**
     * A transactional write costs twice a standard one: "Transactional write requests require two
     * WCUs to perform one write per second for items up to 1 KB"
     * (https://aws.amazon.com/dynamodb/pricing/provisioned/). The processor's conditional writes go
     * out as TransactWriteItems, 100 a call (handlers/processor/adapters/conditional-writes.ts);
     * PartiQL's BatchExecuteStatement would pay one (see `options`).
     */
    transactionalWriteFactor: 2,
    // https://aws.amazon.com/dynamodb/pricing/
    onDemandWriteUnitsPerMillionUsd: 0.625,
    onDemandReadUnitsPerMillionUsd: 0.125,
    provisionedWcuHourUsd: 0.00065,
    provisionedRcuHourUsd: 0.00013,
    storageGbMonthUsd: 0.25,
    /**
     * A new on-demand table serves 4,000 writes/s at once; raising warm throughput above that is a
     * one-time charge (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html).
     */
    newOnDemandTableWarmWrites: 4_000,
  },
  eventbridge: {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
    putEventsPerSecond: (region: string) => (big(region) ? 10_000 : 2_400),
    // https://aws.amazon.com/eventbridge/pricing/ (custom events; Scheduler: $1.00 per million invocations)
    customEventsPerMillionUsd: 1.0,
    schedulerInvocationsPerMillionUsd: 1.0,
  },
  sns: {
    // https://docs.aws.amazon.com/general/latest/gr/sns.html (email: hard limit)
    emailMessagesPerSecond: 10,
    // https://aws.amazon.com/sns/pricing/ (email/email-JSON: $2.00 per 100,000 notifications)
    emailPerMillionUsd: 20,
  },
  firehose: {
    // https://aws.amazon.com/firehose/pricing/ (ingestion and format conversion billed per record in 5 KB increments)
    ingestPerGbUsd: 0.029,
    billingIncrementBytes: 5_120,
    formatConversionPerGbUsd: 0.018,
    // https://docs.aws.amazon.com/firehose/latest/dev/limits.html (Direct PUT, us-east-1/us-west-2/eu-west-1; adjustable)
    directPutBytesPerSecond: (region: string) => (big(region) ? 5 * 1_048_576 : 1_048_576),
    directPutRequestsPerSecond: (region: string) => (big(region) ? 2_000 : 1_000),
    directPutRecordsPerSecond: (region: string) => (big(region) ? 500_000 : 100_000),
    /** PutRecordBatch: 500 records, 4 MiB per call; a record at most 1,000 KiB. */
    maxRecordBytes: 1_000 * 1_024,
  },
  s3: {
    // https://aws.amazon.com/s3/pricing/
    standardGbMonthUsd: 0.023,
  },
  kms: {
    // https://aws.amazon.com/kms/pricing/
    keyMonthUsd: 1,
    requestsPer10kUsd: 0.03,
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
  /** A reading in the brief's format, as a sensor publishes it and as the lake stores it (with received_at). */
  readingBytes: 300,
  /**
   * The topic rule's Kinesis record of a reading (contract RULE_RECORD): the reading base64-encoded
   * (4/3 of it) beside the receive time and the registry zone, ~80 bytes of JSON.
   */
  streamRecordBytes: 480,
  /** A full 60 s window item at 1 Hz (757 bytes with its offsets packed; tests/unit/enrich-rollup.test.ts holds it under this). */
  itemBytes: 900,
  /** Each further reading in a window adds its offset to reading_offsets_ms, packed (a varint of the distance from the one before: 2 bytes at 1 Hz). */
  offsetBytesPerReading: 2,
  /** Headroom on shards, concurrency and on-demand warm throughput. */
  headroom: 1.2,
  concurrencyHeadroom: 1.25,
  /**
   * The zone index must hold a hot zone even with no rollup (BatchingWindowSeconds 0), five times
   * over (catch-up after an outage delivers several windows at once).
   */
  zoneIndexSafetyFactor: 5,
  /** Peak alert rate: one sensor in five changes level (up or down) in an hour. */
  transitionsPerSensorHour: 0.2,
  /** The seed raised an alert for every reading above the threshold: one reading in ten at rush hour. */
  elevatedReadingShare: 0.1,
  /**
   * Processor time per invocation: the I/O of one batch (window merges 128 in flight, one
   * Firehose call, the alert state) plus compute per record (npm run bench, production batch
   * shape: ~5.8 µs per record on this project's 2-core CI machine).
   */
  invocationFixedMs: 150,
  computeMsPerRecord: 0.006,
  /** The seed's Python processor: BatchSize 100, one PutItem per reading (~2 ms each, sequential). */
  seedBatchSize: 100,
  seedMsPerRecord: 2,
  /** Parquet with Snappy against the JSON readings. */
  parquetCompressionRatio: 8,
  /** EMF: one document per invocation and one per zone in the batch; bytes per line. */
  emfLineBytes: 350,
  /**
   * Sensor health: the detector runs once a minute, ~1.1 s for 50,000 sensors with 10 ms per call
   * (npx tsx scripts/bench-health.ts; 2 s assumed), at 512 MB; it scans the health table (~180
   * bytes per sensor) and queries the zone index for the last SilentSensorPeriods windows (~70
   * bytes per key), both eventually consistent (0.5 read unit per 4 KB).
   */
  detectorRunsPerMinute: 1,
  detectorSeconds: 2,
  detectorMemoryGb: 0.5,
  healthItemBytes: 180,
  indexEntryBytes: 70,
  /** KMS: data keys are cached by each service; about one request per shard lane per 5 minutes, plus queues and tables. */
  kmsRequestsPerLanePerHour: 12,
  /** Full fleet reconnect (after a network outage) should complete within this many seconds. */
  reconnectTargetSeconds: 300,
  secondsPerMonth: 30 * 24 * 3_600,
} as const;

export interface PlanInput {
  sensors: number;
  hz: number;
  zones: number;
  /** Share of all sensors in the busiest zone (downtown); never below 1/zones. */
  hotZoneShare: number;
  /** BatchingWindowSeconds: how long the event source mapping gathers records. */
  windowSeconds: number;
  region: string;
  /** Traffic controllers with the console open around the clock (src/capacity-console.ts). */
  controllers: number;
}

export const PLAN_DEFAULTS = {
  zones: 200,
  hotZoneShare: 0.04,
  windowSeconds: P.batchingWindowSeconds,
  region: 'us-east-1',
  controllers: 50,
} as const;

/** The choices a design makes that move the bill. */
export interface Design {
  key: 'seed' | 'before' | 'defaults';
  title: string;
  ingest: 'BROKER' | 'BASIC_INGEST';
  /** Shards: a fixed count (the seed's), or sized to the load. */
  shards: number | 'sized';
  /** The raw data lake: none, Firehose reading the stream (one Firehose record per reading), or aggregated Direct PUT records. */
  lake: 'none' | 'per-reading' | 'aggregated';
  /** DynamoDB items: one per reading (and a full-projection GSI), one per sensor per batch, or windows merged batch after batch. */
  items: 'per-reading' | 'per-batch' | 'windows';
  billing: 'PAY_PER_REQUEST' | 'PROVISIONED';
  alerts: 'per-elevated-reading' | 'transitions';
  /** Sensor health: the detector, its metric per zone and alarm. */
  health: boolean;
}

export const DESIGNS: readonly Design[] = [
  {
    key: 'seed',
    title: 'naive (10 shards, an item per reading)',
    ingest: 'BROKER',
    shards: 10,
    lake: 'none',
    items: 'per-reading',
    billing: 'PAY_PER_REQUEST',
    alerts: 'per-elevated-reading',
    health: false,
  },
  {
    key: 'before',
    title: 'a Firehose record per reading',
    ingest: 'BROKER',
    shards: 'sized',
    lake: 'per-reading',
    items: 'per-batch',
    billing: 'PAY_PER_REQUEST',
    alerts: 'transitions',
    health: false,
  },
  {
    key: 'defaults',
    title: 'defaults',
    ingest: P.ingestMode as 'BASIC_INGEST',
    shards: 'sized',
    lake: 'aggregated',
    items: 'windows',
    billing: P.dynamoDbBillingMode as 'PROVISIONED',
    alerts: 'transitions',
    health: true,
  },
];

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

/** A recommendation the template's own bounds refuse, and what to do about it. */
export interface Exceeded {
  parameter: string;
  needed: number;
  max: number;
  action: string;
}

export interface CostLine {
  service: string;
  monthlyUsd: number;
  detail: string;
}

export interface DesignCost {
  key: Design['key'];
  title: string;
  costs: CostLine[];
  monthlyTotalUsd: number;
  /** Where the design cannot carry the load at all. */
  cannotCarry: string[];
}

export interface Load {
  recordsPerSecond: number;
  bytesPerSecond: number;
  /** What the stream carries: the rule's records. */
  streamBytesPerSecond: number;
  /** Window merges per second (one conditional write each) and the write units each costs (transactional: twice the item's). */
  tableWritesPerSecond: number;
  writeUnitsPerWrite: number;
  /** The item's own write units (a standard write of it). */
  itemWriteUnits: number;
  /** New window items per second on average: the only writes the keys-only zone index takes. */
  indexWritesPerSecond: number;
  /** New window items per second in the batching window after each window boundary. */
  indexBurstWritesPerSecond: number;
  hotZoneSensors: number;
  hottestZoneKeyWcuPerSecond: number;
  invocationsPerSecond: number;
  recordsPerInvocation: number;
  alertsPerSecond: number;
  firehoseRecordsPerSecond: number;
  firehoseBytesPerSecond: number;
}

export interface Plan {
  input: PlanInput;
  load: Load;
  recommended: {
    IngestMode: string;
    KinesisStreamMode: 'PROVISIONED';
    KinesisShardCount: number;
    ProcessorParallelizationFactor: number;
    ProcessorReservedConcurrency: number;
    DynamoDBBillingMode: 'PROVISIONED' | 'PAY_PER_REQUEST';
    DynamoDBWriteCapacity: number;
    ZoneIndexWriteCapacity: number;
    DynamoDBWarmWriteUnitsPerSecond: number;
    ZoneIndexShards: number;
    BatchingWindowSeconds: number;
    SensorStatusItems: number;
  };
  /** Recommendations the template's MinValue/MaxValue refuse (the recommendation shows the deployable value). */
  exceeded: Exceeded[];
  quotas: QuotaCheck[];
  costs: CostLine[];
  monthlyTotalUsd: number;
  designs: DesignCost[];
  /** Options compared and not taken, with their monthly figure. */
  options: { what: string; monthlyUsd: number; why: string }[];
  oneTime: CostLine[];
  /** The traffic controllers' console, line by line (its total is a line of `costs`). */
  console: { controllers: number; lines: ConsoleCostLine[]; totalUsd: number; requestsPerSecond: number; readUnitsPerSecond: number };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });
const roundUp = (x: number, step: number) => Math.ceil(x / step) * step;

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
  if (!Number.isInteger(input.controllers) || input.controllers < 0 || input.controllers > 100_000) {
    problems.push(`--controllers: got ${input.controllers}, expected a whole number from 0 to 100000`);
  }
  if (problems.length > 0) throw new PlanInputError(problems.join('\n'));
  return input;
}

/** MinValue/MaxValue of the template's numeric parameters. */
function templateBounds(): Record<string, { min?: number; max?: number }> {
  return Object.fromEntries(
    Object.entries(buildTemplate().Parameters).map(([name, p]) => {
      const spec = p as { MinValue?: number; MaxValue?: number };
      return [name, { min: spec.MinValue, max: spec.MaxValue }];
    }),
  );
}

/** What to do when a recommendation is above the template's bound, per parameter. */
const EXCEEDED_ACTIONS: Record<string, string> = {
  KinesisShardCount:
    'request a Kinesis shard quota increase and raise the bound in src/parameters.ts, use KinesisStreamMode ON_DEMAND, or split the city across two stacks (one per group of zones)',
  DynamoDBWriteCapacity:
    'request a DynamoDB per-table throughput increase and raise the bound in src/parameters.ts, lengthen BatchingWindowSeconds, or split the city across two stacks',
  ZoneIndexWriteCapacity:
    'request a DynamoDB per-table throughput increase and raise the bound in src/parameters.ts, lengthen BatchingWindowSeconds, or split the city across two stacks',
  DynamoDBWarmWriteUnitsPerSecond: 'use PROVISIONED, or split the city across two stacks',
  ProcessorReservedConcurrency: 'request a Lambda concurrency increase and raise the bound, or lengthen BatchingWindowSeconds',
  ZoneIndexShards: 'raise the zoneIndexShards bound in contract/env.ts (zone queries fan out wider), or split the hot zone into smaller zones',
};

const perMillion = (count: number, usd: number) => (count / 1e6) * usd;
const gb = (bytes: number) => bytes / 1024 ** 3;
const S = ASSUMPTIONS.secondsPerMonth;

/** IoT Core's tiered message price for a month's messages. */
function tieredMessages(count: number): number {
  let usd = 0;
  let from = 0;
  for (const tier of AWS.iot.messageTiers) {
    const inTier = Math.max(0, Math.min(count / 1e6, tier.upToMillions) - from);
    usd += inTier * tier.perMillionUsd;
    from = tier.upToMillions;
  }
  return usd;
}

interface Sizing {
  shards: number;
  lanes: number;
  reservedConcurrency: number;
  zoneIndexShards: number;
  zoneIndexShardsNeeded: number;
}

function sizing(input: PlanInput, recordsPerSecond: number, bytesPerSecond: number, hotZoneSensors: number): Sizing {
  const A = ASSUMPTIONS;
  const shardsForRecords = recordsPerSecond / AWS.kinesis.recordsPerShardPerSecond;
  const shardsForBytes = bytesPerSecond / AWS.kinesis.bytesPerShardPerSecond;
  const shards = Math.max(1, Math.ceil(Math.max(shardsForRecords, shardsForBytes) * A.headroom));
  const lanes = shards * P.processorParallelizationFactor;
  const zoneIndexShardsNeeded = Math.max(
    1,
    Math.ceil((hotZoneSensors * input.hz * A.zoneIndexSafetyFactor) / AWS.dynamodb.partitionWcuPerSecond),
  );
  return {
    shards,
    lanes,
    reservedConcurrency: Math.ceil(lanes * A.concurrencyHeadroom),
    zoneIndexShardsNeeded,
    zoneIndexShards: Math.min(zoneIndexShardsNeeded, templateBounds().ZoneIndexShards?.max ?? Infinity),
  };
}

/** The load a city puts on the defaults. */
function loadOf(input: PlanInput): { load: Load; sizing: Sizing } {
  const A = ASSUMPTIONS;
  const { sensors, hz } = input;
  const recordsPerSecond = sensors * hz;
  const bytesPerSecond = recordsPerSecond * A.readingBytes;
  const streamBytesPerSecond = recordsPerSecond * A.streamRecordBytes;
  const hotZoneSensors = Math.ceil(sensors * Math.max(input.hotZoneShare, 1 / input.zones));
  const size = sizing(input, recordsPerSecond, streamBytesPerSecond, hotZoneSensors);

  // Each lane is invoked once per batching window while data flows (at least once a second).
  const batchSeconds = Math.max(1, input.windowSeconds);
  const invocationsPerSecond = size.lanes / batchSeconds;
  const recordsPerInvocation = recordsPerSecond / invocationsPerSecond;

  // Window merges: each batch merges each of its sensors into its window item; a batch that
  // straddles a window boundary merges into two. A sensor slower than the batching window writes once per reading.
  const rollupSeconds = P.rollupWindowSeconds;
  const mergesPerSensor = Math.min(hz, (1 / batchSeconds) * (1 + Math.min(1, batchSeconds / rollupSeconds)));
  const readingsPerWindow = Math.max(1, hz * rollupSeconds);
  const itemBytes = A.itemBytes + Math.max(0, readingsPerWindow - 60) * A.offsetBytesPerReading;
  const itemWriteUnits = Math.ceil(itemBytes / AWS.dynamodb.writeUnitBytes);
  const writeUnitsPerWrite = itemWriteUnits * AWS.dynamodb.transactionalWriteFactor;
  const newItemsPerSensor = Math.min(hz, 1 / rollupSeconds);
  const indexWritesPerSecond = sensors * newItemsPerSensor;
  // Every sensor opens its next window within one batching window of the boundary.
  const indexBurstWritesPerSecond = Math.min(sensors, recordsPerSecond) / batchSeconds;
  const hottestZoneKeyWcuPerSecond = (hotZoneSensors * Math.min(hz, 1 / batchSeconds)) / size.zoneIndexShards;

  // Firehose: each invocation's valid readings in records of at most 1,000 KiB.
  const bytesPerInvocation = recordsPerInvocation * A.readingBytes;
  const firehoseRecordsPerSecond = invocationsPerSecond * Math.max(1, Math.ceil(bytesPerInvocation / AWS.firehose.maxRecordBytes));

  return {
    sizing: size,
    load: {
      recordsPerSecond,
      bytesPerSecond,
      streamBytesPerSecond,
      tableWritesPerSecond: Math.round(sensors * mergesPerSensor),
      writeUnitsPerWrite,
      itemWriteUnits,
      indexWritesPerSecond: Math.round(indexWritesPerSecond),
      indexBurstWritesPerSecond: Math.round(indexBurstWritesPerSecond),
      hotZoneSensors,
      hottestZoneKeyWcuPerSecond: round2(hottestZoneKeyWcuPerSecond),
      invocationsPerSecond: round2(invocationsPerSecond),
      recordsPerInvocation: Math.round(recordsPerInvocation),
      alertsPerSecond: round2((sensors * A.transitionsPerSensorHour) / 3_600),
      firehoseRecordsPerSecond: round2(firehoseRecordsPerSecond),
      firehoseBytesPerSecond: bytesPerSecond,
    },
  };
}

/** Provisioned capacity that auto scaling settles at for a steady load. */
const settledCapacity = (unitsPerSecond: number) =>
  roundUp(unitsPerSecond / (DEFAULTS.autoScalingTargetUtilizationPercent / 100), 100);

/**
 * DynamoDB for the defaults' window items: on demand against provisioned, per month. Conditional
 * writes cost `writeFactor` times the item's write units (transactional by default).
 */
function dynamoWindows(input: PlanInput, load: Load, writeFactor: number = AWS.dynamodb.transactionalWriteFactor) {
  const tableUnits = load.tableWritesPerSecond * load.itemWriteUnits * writeFactor;
  const tableCapacity = settledCapacity(tableUnits);
  // The index must take the boundary burst; the table's writes wait for it otherwise.
  const indexCapacity = roundUp(load.indexBurstWritesPerSecond * ASSUMPTIONS.headroom, 100);
  const readCapacity = 2 * P.dynamoDbReadCapacity;
  const hours = S / 3_600;
  const liveItems = input.sensors * Math.min(input.hz * P.rollupWindowSeconds, 1) * ((P.readingRetentionDays * 86_400) / P.rollupWindowSeconds);
  const storage = gb(liveItems * (ASSUMPTIONS.itemBytes + ASSUMPTIONS.indexEntryBytes)) * AWS.dynamodb.storageGbMonthUsd;
  // A commit and an outbox clear per alert, and the suppressed transitions: about three writes, each `writeFactor` units.
  const alertState = perMillion(load.alertsPerSecond * 3 * writeFactor * S, AWS.dynamodb.onDemandWriteUnitsPerMillionUsd);
  const provisioned =
    (tableCapacity + indexCapacity) * hours * AWS.dynamodb.provisionedWcuHourUsd +
    readCapacity * hours * AWS.dynamodb.provisionedRcuHourUsd;
  const onDemand = perMillion((tableUnits + load.indexWritesPerSecond) * S, AWS.dynamodb.onDemandWriteUnitsPerMillionUsd);
  return { tableUnits, tableCapacity, indexCapacity, provisioned, onDemand, storage, alertState };
}

/** The monthly bill of one design for a city. */
function designCost(input: PlanInput, design: Design, load: Load, size: Sizing): DesignCost {
  const A = ASSUMPTIONS;
  const { sensors } = input;
  const records = load.recordsPerSecond * S;
  const cannotCarry: string[] = [];
  const costs: CostLine[] = [];

  // IoT Core
  const messaging = design.ingest === 'BROKER' ? tieredMessages(records * Math.ceil(A.readingBytes / AWS.iot.messageBillingBytes)) : 0;
  const rules = perMillion(records, AWS.iot.rulesTriggeredPerMillionUsd + AWS.iot.actionsExecutedPerMillionUsd);
  const connectivity = perMillion(sensors * (S / 60), AWS.iot.connectionMinutesPerMillionUsd);
  costs.push({
    service: 'IoT Core',
    monthlyUsd: messaging + rules + connectivity,
    detail:
      design.ingest === 'BROKER'
        ? `messages through the broker $${fmt(Math.round(messaging))}, rule triggers and Kinesis actions $${fmt(Math.round(rules))}, connection minutes $${fmt(Math.round(connectivity))}`
        : `Basic Ingest (no messaging charge); rule triggers and Kinesis actions $${fmt(Math.round(rules))}, connection minutes $${fmt(Math.round(connectivity))}`,
  });

  // Kinesis
  const shards = design.shards === 'sized' ? size.shards : design.shards;
  if (shards * AWS.kinesis.recordsPerShardPerSecond < load.recordsPerSecond) {
    cannotCarry.push(`${shards} shards take ${fmt(shards * AWS.kinesis.recordsPerShardPerSecond)} records/s of ${fmt(load.recordsPerSecond)}`);
  }
  const putUnits = records * Math.ceil(A.readingBytes / AWS.kinesis.putPayloadUnitBytes);
  costs.push({
    service: 'Kinesis Data Streams',
    monthlyUsd: shards * (S / 3_600) * AWS.kinesis.shardHourUsd + perMillion(putUnits, AWS.kinesis.putPayloadUnitsPerMillionUsd),
    detail: `${shards} shards (provisioned) and PUT payload units${design.lake === 'per-reading' ? '; Firehose reads the stream too' : ''}`,
  });

  // Lambda
  const seed = design.key === 'seed';
  const invocations = seed ? load.recordsPerSecond / A.seedBatchSize : load.invocationsPerSecond;
  const recordsPer = load.recordsPerSecond / invocations;
  const seconds = seed ? (recordsPer * A.seedMsPerRecord) / 1000 : (A.invocationFixedMs + recordsPer * A.computeMsPerRecord) / 1000;
  const memoryGb = P.processorMemoryMb / 1024;
  const health = design.health
    ? perMillion(A.detectorRunsPerMinute * (S / 60), AWS.lambda.requestsPerMillionUsd) +
      A.detectorRunsPerMinute * (S / 60) * A.detectorSeconds * A.detectorMemoryGb * AWS.lambda.gbSecondUsd
    : 0;
  costs.push({
    service: 'Lambda',
    monthlyUsd:
      perMillion(invocations * S, AWS.lambda.requestsPerMillionUsd) + invocations * S * seconds * memoryGb * AWS.lambda.gbSecondUsd + health,
    detail:
      `${fmt(round2(invocations))} invocations/s of ~${fmt(Math.round(recordsPer))} records, arm64, ${P.processorMemoryMb} MB` +
      (design.health ? '; the silent-sensor detector once a minute' : ''),
  });

  // DynamoDB
  if (design.items === 'windows') {
    const d = dynamoWindows(input, load);
    const chosen = design.billing === 'PROVISIONED' ? d.provisioned : d.onDemand;
    // The detector: a scan of the on-demand health table each minute; its zone-index reads (about
    // sensors × periods × 70 bytes a minute) fit in the index's provisioned read capacity.
    const healthReads = design.health
      ? perMillion(((input.sensors * A.healthItemBytes) / 4_096) * 0.5 * (S / 60), AWS.dynamodb.onDemandReadUnitsPerMillionUsd)
      : 0;
    costs.push({
      service: `DynamoDB (${design.billing === 'PROVISIONED' ? 'provisioned' : 'on demand'})`,
      monthlyUsd: chosen + d.storage + d.alertState + healthReads,
      detail:
        `${fmt(load.tableWritesPerSecond)} window merges/s × ${load.writeUnitsPerWrite} units (transactional), zone index ${fmt(load.indexWritesPerSecond)} new items/s (bursts of ${fmt(load.indexBurstWritesPerSecond)}/s); ` +
        (design.billing === 'PROVISIONED'
          ? `${fmt(d.tableCapacity)} + ${fmt(d.indexCapacity)} WCU; on demand would be $${fmt(Math.round(d.onDemand))}`
          : `provisioned (${fmt(d.tableCapacity)} + ${fmt(d.indexCapacity)} WCU) would be $${fmt(Math.round(d.provisioned))}`) +
        `; ${P.readingRetentionDays}-day storage $${fmt(Math.round(d.storage))}`,
    });
  } else {
    const itemsPerSecond = design.items === 'per-reading' ? load.recordsPerSecond : sensors / Math.max(1, input.windowSeconds);
    const units = itemsPerSecond * 2; // the item and its index entry (the index projects the item)
    if (design.items === 'per-reading' && units > AWS.dynamodb.tableWcuQuota) {
      cannotCarry.push(`${fmt(units)} write units/s exceed the ${fmt(AWS.dynamodb.tableWcuQuota)} per-table quota`);
    }
    const itemBytes = design.items === 'per-reading' ? 200 : 400;
    const storage = gb(itemsPerSecond * itemBytes * 2 * P.readingRetentionDays * 86_400) * AWS.dynamodb.storageGbMonthUsd;
    costs.push({
      service: 'DynamoDB (on demand)',
      monthlyUsd: perMillion(units * S, AWS.dynamodb.onDemandWriteUnitsPerMillionUsd) + storage,
      detail: `${fmt(Math.round(itemsPerSecond))} items/s ${design.items === 'per-reading' ? '(one per reading)' : '(one per sensor per batch)'} and their index entries; ${P.readingRetentionDays}-day storage`,
    });
  }

  // Firehose
  if (design.lake === 'per-reading') {
    const billed = gb(records * Math.max(A.readingBytes, AWS.firehose.billingIncrementBytes));
    costs.push({
      service: 'Firehose',
      monthlyUsd: billed * (AWS.firehose.ingestPerGbUsd + AWS.firehose.formatConversionPerGbUsd),
      detail: 'one Firehose record per reading: ingestion and Parquet conversion both billed on 5 KB per record',
    });
  } else if (design.lake === 'aggregated') {
    const recordBytes = load.firehoseBytesPerSecond / load.firehoseRecordsPerSecond;
    const billed = gb(load.firehoseRecordsPerSecond * S * roundUp(recordBytes, AWS.firehose.billingIncrementBytes));
    costs.push({
      service: 'Firehose',
      monthlyUsd: billed * (AWS.firehose.ingestPerGbUsd + AWS.firehose.formatConversionPerGbUsd),
      detail: `${fmt(load.firehoseRecordsPerSecond)} Direct PUT records/s of ~${fmt(Math.round(recordBytes / 1024))} KiB (each invocation's valid readings): ingestion and Parquet conversion`,
    });
  }

  // S3
  if (design.lake !== 'none') {
    costs.push({
      service: 'S3',
      monthlyUsd: gb((load.bytesPerSecond * S) / A.parquetCompressionRatio) * AWS.s3.standardGbMonthUsd,
      detail: 'one month of raw readings as Parquet (grows by this each month until lifecycle tiering)',
    });
  }

  // EventBridge, SNS, Scheduler
  const events = design.alerts === 'transitions' ? load.alertsPerSecond : load.recordsPerSecond * A.elevatedReadingShare;
  if (events > AWS.sns.emailMessagesPerSecond) {
    cannotCarry.push(`${fmt(events)} alert emails/s exceed SNS's hard limit of ${AWS.sns.emailMessagesPerSecond}/s`);
  }
  const scheduler = design.health ? perMillion(A.detectorRunsPerMinute * (S / 60), AWS.eventbridge.schedulerInvocationsPerMillionUsd) : 0;
  costs.push({
    service: 'EventBridge + SNS',
    monthlyUsd: perMillion(events * S, AWS.eventbridge.customEventsPerMillionUsd + AWS.sns.emailPerMillionUsd) + scheduler,
    detail:
      design.alerts === 'transitions'
        ? `${fmt(events)} alerts/s at peak (transitions only; upper bound)${design.health ? ', the detector schedule' : ''}`
        : `${fmt(events)} alerts/s (one per reading above the threshold)`,
  });

  // CloudWatch
  const sensorsPerInvocation = Math.min(sensors, load.recordsPerInvocation / Math.max(1, input.hz * Math.max(1, input.windowSeconds)));
  const zonesPerInvocation = input.zones * (1 - Math.pow(1 - 1 / input.zones, sensorsPerInvocation));
  const emfLines = seed ? 0 : load.invocationsPerSecond * (1 + zonesPerInvocation) + (design.health ? input.zones / 60 : 0);
  // Per zone: congestion and vehicle count from the processor; SensorsReporting and SensorsExpected from the detector.
  const metrics = seed ? 10 : Object.keys(METRIC).length + (design.health ? 4 : 2) * input.zones;
  costs.push({
    service: 'CloudWatch',
    monthlyUsd:
      gb(emfLines * A.emfLineBytes * S) * AWS.cloudwatch.logsIngestPerGbUsd +
      metrics * AWS.cloudwatch.customMetricMonthUsd +
      (seed ? 5 : ALARM_COUNT) * AWS.cloudwatch.standardAlarmMonthUsd +
      AWS.cloudwatch.dashboardMonthUsd,
    detail: seed
      ? 'a few custom metrics and alarms'
      : `EMF logs (${fmt(Math.round(emfLines))} lines/s: one per invocation, one per zone in it), ${fmt(metrics)} custom metrics, ${ALARM_COUNT} alarms, a dashboard`,
  });

  // KMS
  const kmsRequests = size.lanes * A.kmsRequestsPerLanePerHour * (S / 3_600) * 2;
  costs.push({
    service: 'KMS',
    monthlyUsd: AWS.kms.keyMonthUsd + (kmsRequests / 10_000) * AWS.kms.requestsPer10kUsd,
    detail: 'one customer managed key; data-key requests of the stream, tables, queues and Firehose',
  });

  const rounded = costs.map((c) => ({ ...c, monthlyUsd: Math.round(c.monthlyUsd) }));
  return {
    key: design.key,
    title: design.title,
    costs: rounded,
    monthlyTotalUsd: rounded.reduce((sum, c) => sum + c.monthlyUsd, 0),
    cannotCarry,
  };
}

/** The plan for a city: load, recommended parameters, quota checks and monthly cost of each design. */
export function plan(raw: PlanInput): Plan {
  const input = validatePlanInput(raw);
  const { sensors, hz, region } = input;
  const A = ASSUMPTIONS;
  const { load, sizing: size } = loadOf(input);
  const d = dynamoWindows(input, load);
  const billing: 'PROVISIONED' | 'PAY_PER_REQUEST' = d.provisioned <= d.onDemand ? 'PROVISIONED' : 'PAY_PER_REQUEST';
  const defaultsDesign = { ...DESIGNS.find((x) => x.key === 'defaults')!, billing };

  const needed = {
    IngestMode: 'BASIC_INGEST',
    KinesisStreamMode: 'PROVISIONED' as const,
    KinesisShardCount: size.shards,
    ProcessorParallelizationFactor: P.processorParallelizationFactor,
    ProcessorReservedConcurrency: size.reservedConcurrency,
    DynamoDBBillingMode: billing,
    DynamoDBWriteCapacity: Math.max(100, d.tableCapacity),
    ZoneIndexWriteCapacity: Math.max(100, d.indexCapacity),
    DynamoDBWarmWriteUnitsPerSecond: Math.max(
      AWS.dynamodb.newOnDemandTableWarmWrites,
      roundUp((d.tableUnits + load.indexWritesPerSecond) * A.headroom, 1_000),
    ),
    ZoneIndexShards: size.zoneIndexShardsNeeded,
    BatchingWindowSeconds: input.windowSeconds,
    SensorStatusItems: sensorStatusItemsFor(sensors),
  };
  // Every recommendation is checked against the template's own bounds; above one, the deployable
  // value is recommended and the gap reported with what to do.
  const bounds = templateBounds();
  const exceeded: Exceeded[] = [];
  const recommended = { ...needed };
  for (const [name, value] of Object.entries(needed)) {
    const max = bounds[name]?.max;
    if (typeof value === 'number' && max !== undefined && value > max) {
      exceeded.push({ parameter: name, needed: value, max, action: EXCEEDED_ACTIONS[name] ?? 'raise the bound in src/parameters.ts' });
      (recommended as Record<string, unknown>)[name] = max;
    }
  }

  const directPutBytes = AWS.firehose.directPutBytesPerSecond(region);
  const quota = (q: Omit<QuotaCheck, 'ok' | 'adjustable'> & { adjustable?: boolean }): QuotaCheck => ({
    ...q,
    ok: q.needed <= q.limit,
    adjustable: q.adjustable ?? true,
  });
  const provisionedTable = billing === 'PROVISIONED';
  const quotas: QuotaCheck[] = [
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

  const designs = DESIGNS.map((design) => designCost(input, design.key === 'defaults' ? defaultsDesign : design, load, size));
  const defaults = designs.find((x) => x.key === 'defaults')!;
  // The traffic controllers' console: only the defaults have one.
  const consoleCost = consoleCosts({
    controllers: input.controllers,
    sensors,
    zones: input.zones,
    invocationsPerSecond: load.invocationsPerSecond,
    shards: size.shards,
    statusItems: sensorStatusItemsFor(sensors),
    secondsPerMonth: S,
    prices: {
      lambdaRequestsPerMillionUsd: AWS.lambda.requestsPerMillionUsd,
      lambdaGbSecondUsd: AWS.lambda.gbSecondUsd,
      dynamoReadPerMillionUsd: AWS.dynamodb.onDemandReadUnitsPerMillionUsd,
      dynamoWritePerMillionUsd: AWS.dynamodb.onDemandWriteUnitsPerMillionUsd,
      logsPerGbUsd: AWS.cloudwatch.logsIngestPerGbUsd,
    },
  });
  defaults.costs.push({
    service: "Traffic controllers' console",
    monthlyUsd: consoleCost.totalUsd,
    detail: `${fmt(input.controllers)} controllers polling every 2 s: CloudFront, the HTTP API, its function and reads, the processor's status writes, Cognito (lines below)`,
  });
  defaults.monthlyTotalUsd += consoleCost.totalUsd;

  // Options compared and not taken.
  const monthlyBytes = load.streamBytesPerSecond * S;
  const onDemandIn = gb(load.recordsPerSecond * S * Math.max(A.streamRecordBytes, AWS.kinesis.onDemandRecordRoundingBytes));
  const onDemandStandard =
    (S / 3_600) * AWS.kinesis.onDemandStreamHourUsd + onDemandIn * AWS.kinesis.onDemandIngestPerGbUsd + gb(monthlyBytes) * AWS.kinesis.onDemandRetrievalPerGbUsd;
  const advantage =
    AWS.kinesis.onDemandAdvantageShare * (onDemandIn * AWS.kinesis.onDemandIngestPerGbUsd + gb(monthlyBytes) * AWS.kinesis.onDemandRetrievalPerGbUsd);
  const rules = perMillion(load.recordsPerSecond * S, AWS.iot.rulesTriggeredPerMillionUsd + AWS.iot.actionsExecutedPerMillionUsd);
  const serviceCost = (prefix: string) => defaults.costs.find((c) => c.service.startsWith(prefix))?.monthlyUsd ?? 0;
  /** The defaults' total with one service's cost replaced. */
  const instead = (prefix: string, usd: number) => Math.round(defaults.monthlyTotalUsd - serviceCost(prefix) + usd);
  const options = [
    {
      what: 'Kinesis ON_DEMAND (Standard)',
      monthlyUsd: instead('Kinesis', onDemandStandard),
      why: 'per-stream hours plus every record rounded up to 1 KB on ingest: several times the provisioned shards for a steady load',
    },
    {
      what: 'Kinesis On-demand Advantage (account-level mode)',
      monthlyUsd: instead('Kinesis', advantage),
      why: 'no per-stream charge and ≥ 60% lower ingest and retrieval than Standard, still above provisioned shards for a steady 24/7 load; it changes every on-demand stream of the account',
    },
    {
      what: `DynamoDB ${billing === 'PROVISIONED' ? 'PAY_PER_REQUEST' : 'PROVISIONED'}`,
      monthlyUsd: instead('DynamoDB', (billing === 'PROVISIONED' ? d.onDemand : d.provisioned) + d.storage + d.alertState),
      why: billing === 'PROVISIONED' ? 'pays per write; the load is steady, so provisioned capacity at 80% utilisation is cheaper' : 'capacity paid around the clock is dearer for this load',
    },
    (() => {
      // The same conditional writes at one write unit per KB: PartiQL BatchExecuteStatement, 25 a call.
      const partiql = dynamoWindows(input, load, 1);
      return {
        what: 'PartiQL BatchExecuteStatement for the conditional writes',
        monthlyUsd: instead('DynamoDB', (billing === 'PROVISIONED' ? partiql.provisioned : partiql.onDemand) + partiql.storage + partiql.alertState),
        why:
          'each statement conditioned and failing on its own at one write unit per KB instead of two, 25 a call instead of 100 (about four times the calls); ' +
          'not the default because moto 5.2 cannot run it (measured: a failed WHERE condition is answered as a success, an INSERT of an existing item overwrites it, ' +
          'an INSERT with parameters answers HTTP 500), so the delivery contract could not be tested against moto nor the pipeline run in the simulator',
      };
    })(),
    {
      what: 'Sensors batching 5 readings per message',
      monthlyUsd: Math.round(defaults.monthlyTotalUsd - rules * 0.8),
      why: 'rule triggers and actions are charged per message: 5 readings per message cuts them by 80%, but needs new sensor firmware and delays each reading by up to 4 s (inside the 10 s dashboard target); not the default because the sensors are the city\'s, not ours',
    },
    {
      what: 'Staggering each sensor\'s window boundary',
      monthlyUsd: Math.round(defaults.monthlyTotalUsd - (d.indexCapacity - settledCapacity(load.indexWritesPerSecond)) * (S / 3_600) * AWS.dynamodb.provisionedWcuHourUsd),
      why: 'new window items would spread over the minute instead of bursting after each boundary, so the zone index could be provisioned for the average; a change to the rollup keys left for later',
    },
  ];

  const oneTime: CostLine[] = [
    {
      service: 'Bulk registration of the fleet',
      monthlyUsd: Math.round((sensors / 1_000) * AWS.iot.bulkRegistrationPerThousandUsd + perMillion(sensors * 4, AWS.iot.registryOperationsPerMillionUsd)),
      detail: `${fmt(sensors)} things registered (or JITP on first connect: about 4 registry operations each)`,
    },
    {
      service: 'DynamoDB warm throughput (PAY_PER_REQUEST only)',
      monthlyUsd: 0,
      detail: `pre-warming to ${fmt(needed.DynamoDBWarmWriteUnitsPerSecond)} writes/s is a one-time charge on the DynamoDB pricing page; nothing with the PROVISIONED default`,
    },
  ];

  return {
    input,
    load,
    recommended,
    exceeded,
    quotas,
    costs: defaults.costs,
    monthlyTotalUsd: defaults.monthlyTotalUsd,
    designs,
    options,
    oneTime,
    console: { controllers: input.controllers, ...consoleCost },
  };
}

/** The plan as Markdown (docs/capacity.md and the CLI's text output). */
export function planMarkdown(p: Plan): string {
  const { input, load, recommended } = p;
  const services = [...new Set(p.designs.flatMap((d) => d.costs.map((c) => c.service.replace(/ \(.*\)$/, ''))))];
  const costOf = (d: DesignCost, service: string) => d.costs.find((c) => c.service.replace(/ \(.*\)$/, '') === service)?.monthlyUsd;
  const designFor = (key: Design['key']) => p.designs.find((d) => d.key === key)!;
  const lines = [
    `# Capacity plan: ${fmt(input.sensors)} sensors at ${fmt(input.hz)} Hz`,
    '',
    `Generated by \`npm run plan -- --sensors ${input.sensors} --hz ${input.hz} --zones ${input.zones} --hot-zone-share ${input.hotZoneShare} --window ${input.windowSeconds} --region ${input.region} --controllers ${input.controllers}\`. ` +
      'Constants and their sources: `src/capacity.ts`. Prices: us-east-1 list prices; check the pricing pages before budgeting.',
    '',
    '## Load',
    '',
    '| what | value |',
    '| --- | --- |',
    `| readings | ${fmt(load.recordsPerSecond)}/s, ${fmt(Math.round(load.bytesPerSecond / 1024))} KiB/s |`,
    `| rollup window merges (each batch merges each of its sensors into its ${P.rollupWindowSeconds} s window item) | ${fmt(load.tableWritesPerSecond)}/s × ${load.writeUnitsPerWrite} write units (transactional: twice the item's ${load.itemWriteUnits}) |`,
    `| zone index (keys only: written when a window item is created) | ${fmt(load.indexWritesPerSecond)}/s on average, ${fmt(load.indexBurstWritesPerSecond)}/s in the batching window after each boundary |`,
    `| busiest zone | ${fmt(load.hotZoneSensors)} sensors → ${fmt(load.hottestZoneKeyWcuPerSecond)} WCU/s on its hottest zone_shard key (${fmt(recommended.ZoneIndexShards)} shards) |`,
    `| processor | ${fmt(load.invocationsPerSecond)} invocations/s of ~${fmt(load.recordsPerInvocation)} records |`,
    `| raw data lake | ${fmt(load.firehoseRecordsPerSecond)} Firehose records/s, ${fmt(round2(load.firehoseBytesPerSecond / 1_048_576))} MiB/s |`,
    `| alerts at peak | ${fmt(load.alertsPerSecond)}/s (one sensor in five changing level in an hour) |`,
    '',
    '## Recommended parameters',
    '',
    '| parameter | value |',
    '| --- | --- |',
    ...Object.entries(recommended).map(([k, v]) => `| ${k} | ${typeof v === 'number' ? fmt(v) : v} |`),
    '',
  ];
  if (p.exceeded.length > 0) {
    lines.push(
      '**Beyond the template\'s bounds** (the table above shows the largest value the template accepts):',
      '',
      '| parameter | needed | template maximum | what to do |',
      '| --- | ---: | ---: | --- |',
      ...p.exceeded.map((e) => `| ${e.parameter} | ${fmt(e.needed)} | ${fmt(e.max)} | ${e.action} |`),
      '',
    );
  }
  lines.push(
    '## Quotas',
    '',
    '| quota | needed | default limit | status |',
    '| --- | ---: | ---: | --- |',
    ...p.quotas.map(
      (q) =>
        `| [${q.name}](${q.source}) | ${fmt(q.needed)} ${q.unit} | ${fmt(q.limit)} | ${
          q.ok ? 'ok' : q.adjustable ? `**increase needed**: ${q.action}` : `**hard limit**: ${q.action}`
        } |`,
    ),
    '',
    '## Monthly cost (USD, estimate)',
    '',
    `| service | ${p.designs.map((d) => d.title).join(' | ')} | what the defaults pay for |`,
    `| --- | ${p.designs.map(() => '---:').join(' | ')} | --- |`,
    ...services.map((service) => {
      const detail = p.costs.find((c) => c.service.replace(/ \(.*\)$/, '') === service)?.detail ?? '';
      return `| ${service} | ${p.designs.map((d) => (costOf(d, service) === undefined ? '—' : fmt(costOf(d, service)!))).join(' | ')} | ${detail} |`;
    }),
    `| **total** | ${p.designs.map((d) => `**${fmt(d.monthlyTotalUsd)}**`).join(' | ')} | |`,
    '',
  );
  const seed = designFor('seed');
  if (seed.cannotCarry.length > 0) lines.push(`The naive design (10 shards, an item and an alert per reading) cannot carry this load at any price: ${seed.cannotCarry.join('; ')}.`, '');
  lines.push(
    '## Options compared',
    '',
    '| option | total per month with it | why not the default |',
    '| --- | ---: | --- |',
    ...p.options.map((o) => `| ${o.what} | ${fmt(o.monthlyUsd)} | ${o.why} |`),
    '',
    `## Traffic controllers' console (${fmt(p.console.controllers)} controllers)`,
    '',
    `${fmt(round2(p.console.requestsPerSecond))} requests/s to the console API, ${fmt(round2(p.console.readUnitsPerSecond))} DynamoDB read units/s. Prices and assumptions: \`src/capacity-console.ts\`.`,
    '',
    '| what | USD per month | detail |',
    '| --- | ---: | --- |',
    ...p.console.lines.map((l) => `| ${l.what} | ${fmt(l.monthlyUsd)} | ${l.detail} |`),
    `| **total** | **${fmt(p.console.totalUsd)}** | |`,
    '',
    '## One-time costs',
    '',
    '| what | USD | detail |',
    '| --- | ---: | --- |',
    ...p.oneTime.map((c) => `| ${c.service} | ${fmt(c.monthlyUsd)} | ${c.detail} |`),
    '',
  );
  return lines.join('\n');
}
