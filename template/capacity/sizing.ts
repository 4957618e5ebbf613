/**
 * Sizing: the load a city puts on the defaults (records, bytes, window merges, the zone index,
 * invocations, alerts, Firehose records), the shards, lanes and concurrency that carry it, and
 * DynamoDB's capacity for the window items.
 */
import { DEFAULTS } from '../config';
import { buildTemplate } from '../index';
import { ASSUMPTIONS, DEFAULT_PARAMETERS as P, SECONDS_PER_MONTH as S } from './assumptions';
import { AWS } from './aws-figures';
import type { PlanInput } from './input';
import { gb, perMillion, round2, roundUp } from './units';

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

/** MinValue/MaxValue of the template's numeric parameters. */
export function templateBounds(): Record<string, { min?: number; max?: number }> {
  return Object.fromEntries(
    Object.entries(buildTemplate().Parameters).map(([name, p]) => {
      const spec = p as { MinValue?: number; MaxValue?: number };
      return [name, { min: spec.MinValue, max: spec.MaxValue }];
    }),
  );
}

export interface Sizing {
  shards: number;
  lanes: number;
  reservedConcurrency: number;
  zoneIndexShards: number;
  zoneIndexShardsNeeded: number;
}

export function sizing(input: PlanInput, recordsPerSecond: number, bytesPerSecond: number, hotZoneSensors: number): Sizing {
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
export function loadOf(input: PlanInput): { load: Load; sizing: Sizing } {
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
export const settledCapacity = (unitsPerSecond: number) =>
  roundUp(unitsPerSecond / (DEFAULTS.autoScalingTargetUtilizationPercent / 100), 100);

/**
 * DynamoDB for the defaults' window items: on demand against provisioned, per month. Conditional
 * writes cost `writeFactor` times the item's write units (transactional by default).
 */
export function dynamoWindows(input: PlanInput, load: Load, writeFactor: number = AWS.dynamodb.transactionalWriteFactor) {
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
