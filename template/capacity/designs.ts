/**
 * The three designs priced side by side so the effect of each choice is visible: the naive one
 * (10 shards, an item and an alert per reading), per-batch items with a Firehose record per
 * reading, and the defaults; and the monthly bill of one design for a city.
 */
import { METRIC } from '../../contract';
import { DEFAULTS } from '../config';
import { buildLayers } from '../index';
import { ASSUMPTIONS, DEFAULT_PARAMETERS as P, SECONDS_PER_MONTH as S } from './assumptions';
import { AWS } from './aws-figures';
import type { PlanInput } from './input';
import { dynamoWindows, type Load, type Sizing } from './sizing';
import { fmt, gb, perMillion, round2, roundUp } from './units';

/** Alarms the template creates (each is a standard-resolution alarm on the bill). */
const ALARM_COUNT = buildLayers(DEFAULTS).alarms.length;

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

/** The monthly bill of one design for a city. */
export function designCost(input: PlanInput, design: Design, load: Load, size: Sizing): DesignCost {
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
