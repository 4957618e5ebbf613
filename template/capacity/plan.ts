/**
 * The plan for a city: load, recommended parameters (within the template's bounds), quota
 * checks, the monthly cost of each design, the console's cost, the options compared and the
 * one-time costs.
 */
import { sensorStatusItemsFor } from '../../contract';
import { ASSUMPTIONS, DEFAULT_PARAMETERS as P, SECONDS_PER_MONTH as S } from './assumptions';
import { AWS } from './aws-figures';
import { consoleCosts, type ConsoleCostLine } from './console-costs';
import { DESIGNS, designCost, type CostLine, type DesignCost } from './designs';
import { validatePlanInput, type PlanInput } from './input';
import { quotaChecks, type QuotaCheck } from './quotas';
import { dynamoWindows, loadOf, settledCapacity, templateBounds, type Load } from './sizing';
import { fmt, gb, perMillion, roundUp } from './units';

/** A recommendation the template's own bounds refuse, and what to do about it. */
export interface Exceeded {
  parameter: string;
  needed: number;
  max: number;
  action: string;
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

/** What to do when a recommendation is above the template's bound, per parameter. */
const EXCEEDED_ACTIONS: Record<string, string> = {
  KinesisShardCount:
    'request a Kinesis shard quota increase and raise the bound in template/parameters.ts, use KinesisStreamMode ON_DEMAND, or split the city across two stacks (one per group of zones)',
  DynamoDBWriteCapacity:
    'request a DynamoDB per-table throughput increase and raise the bound in template/parameters.ts, lengthen BatchingWindowSeconds, or split the city across two stacks',
  ZoneIndexWriteCapacity:
    'request a DynamoDB per-table throughput increase and raise the bound in template/parameters.ts, lengthen BatchingWindowSeconds, or split the city across two stacks',
  DynamoDBWarmWriteUnitsPerSecond: 'use PROVISIONED, or split the city across two stacks',
  ProcessorReservedConcurrency: 'request a Lambda concurrency increase and raise the bound, or lengthen BatchingWindowSeconds',
  ZoneIndexShards: 'raise the zoneIndexShards bound in contract/env.ts (zone queries fan out wider), or split the hot zone into smaller zones',
};

/** The plan for a city: load, recommended parameters, quota checks and monthly cost of each design. */
export function plan(raw: PlanInput): Plan {
  const input = validatePlanInput(raw);
  const { sensors } = input;
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
      exceeded.push({ parameter: name, needed: value, max, action: EXCEEDED_ACTIONS[name] ?? 'raise the bound in template/parameters.ts' });
      (recommended as Record<string, unknown>)[name] = max;
    }
  }

  const quotas = quotaChecks(input, load, size, d, billing);

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
