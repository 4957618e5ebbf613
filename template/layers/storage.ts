/** DynamoDB: per-sensor rollups with a write-sharded zone index, and the alert state. */
import { ApplicationAutoScaling } from 'cloudform-types';
import { ALERT_STATE_TABLE, ALERT_ZONE_INDEX, READINGS_TABLE } from '../../contract';
import { writeThrottleAlarm } from '../alarms';
import type { StackConfig } from '../config';
import { keySchema, secureTable, type TagConfig } from '../defaults';
import { ifCondition, ref, sub } from '../intrinsics';
import { exported, type Layer } from '../layer';
import { metric, type Metric } from '../metrics';
import { LogicalId, physicalName, type LogicalIdName } from '../names';
import { Cond, Param, param, type ParamName } from '../parameters';

/** Capacity when PROVISIONED, nothing when on demand. (cloudform-types cannot type an Fn::If here.) */
const provisioned = (write: ParamName) =>
  ifCondition(Cond.IsTableProvisioned, {
    ReadCapacityUnits: param(Param.DynamoDBReadCapacity),
    WriteCapacityUnits: param(write),
  });

/** Target-tracking auto scaling of one dimension of the table or its index (provisioned mode). */
function autoScaling(
  config: Pick<StackConfig, 'autoScalingMaxCapacity' | 'autoScalingTargetUtilizationPercent'>,
  kind: 'Read' | 'Write',
  resourceId: unknown,
  dimension: 'table' | 'index',
  targetId: LogicalIdName,
  minimumWrite: ParamName,
) {
  const target = new ApplicationAutoScaling.ScalableTarget({
    ServiceNamespace: 'dynamodb',
    ResourceId: resourceId as string,
    ScalableDimension: `dynamodb:${dimension}:${kind}CapacityUnits`,
    MinCapacity: param(kind === 'Read' ? Param.DynamoDBReadCapacity : minimumWrite),
    MaxCapacity: config.autoScalingMaxCapacity,
  }).condition(Cond.IsTableProvisioned);
  const policy = new ApplicationAutoScaling.ScalingPolicy({
    PolicyName: sub(`tapstack-\${EnvironmentSuffix}-${dimension}-${kind.toLowerCase()}`),
    PolicyType: 'TargetTrackingScaling',
    ScalingTargetId: ref(targetId),
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: config.autoScalingTargetUtilizationPercent,
      PredefinedMetricSpecification: { PredefinedMetricType: `DynamoDB${kind}CapacityUtilization` },
    },
  }).condition(Cond.IsTableProvisioned);
  return { target, policy };
}

type StorageConfig = TagConfig &
  Pick<StackConfig, 'warmReadUnitsPerSecond' | 'autoScalingMaxCapacity' | 'autoScalingTargetUtilizationPercent'>;

/** A metric of a table (AWS/DynamoDB), or of one of its secondary indexes. */
export const tableMetric = (table: LogicalIdName, name: 'WriteThrottleEvents' | 'ConsumedWriteCapacityUnits', index?: string): Metric =>
  metric('AWS/DynamoDB', name, { TableName: `\${${table}}`, ...(index ? { GlobalSecondaryIndexName: index } : {}) });

/**
 * The readings table (per-sensor rollups, zone index write-sharded by sensor) and the alert-state
 * table with its sparse elevated index; auto scaling in provisioned mode; throttling alarms.
 */
export function buildStorage(config: StorageConfig): Layer {
  const warm = ifCondition(Cond.IsTableOnDemand, {
    ReadUnitsPerSecond: config.warmReadUnitsPerSecond,
    WriteUnitsPerSecond: param(Param.DynamoDBWarmWriteUnitsPerSecond),
  });
  const readings = secureTable(config, {
    TableName: physicalName('readings'),
    BillingMode: param(Param.DynamoDBBillingMode),
    AttributeDefinitions: [
      { AttributeName: READINGS_TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: READINGS_TABLE.sortKey, AttributeType: 'S' },
      { AttributeName: READINGS_TABLE.zoneIndexPartitionKey, AttributeType: 'S' },
    ],
    KeySchema: keySchema(READINGS_TABLE.partitionKey, READINGS_TABLE.sortKey),
    GlobalSecondaryIndexes: [
      {
        IndexName: READINGS_TABLE.zoneIndexName,
        KeySchema: keySchema(READINGS_TABLE.zoneIndexPartitionKey, READINGS_TABLE.sortKey),
        // Keys only: a window item is written once per batch, but its keys only once per window, and
        // a table write that changes nothing the index holds costs the index nothing
        // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes).
        // A zone query answers (sensor, window) keys; BatchGetItem reads the items.
        Projection: { ProjectionType: 'KEYS_ONLY' },
        ProvisionedThroughput: provisioned(Param.ZoneIndexWriteCapacity) as never,
        WarmThroughput: warm,
      },
    ],
    ProvisionedThroughput: provisioned(Param.DynamoDBWriteCapacity) as never,
    WarmThroughput: warm,
    TimeToLiveSpecification: { AttributeName: READINGS_TABLE.ttlAttribute, Enabled: true },
  });

  // Low, bursty volume (only sensors at or above a threshold), so always on demand.
  const alertState = secureTable(config, {
    TableName: physicalName('alert-state'),
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: ALERT_STATE_TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: ALERT_STATE_TABLE.elevatedBucketAttribute, AttributeType: 'S' },
      { AttributeName: ALERT_ZONE_INDEX.partitionKey, AttributeType: 'S' },
      { AttributeName: ALERT_ZONE_INDEX.sortKey, AttributeType: 'S' },
    ],
    KeySchema: keySchema(ALERT_STATE_TABLE.partitionKey),
    GlobalSecondaryIndexes: [
      {
        IndexName: ALERT_STATE_TABLE.elevatedIndexName,
        KeySchema: keySchema(ALERT_STATE_TABLE.elevatedBucketAttribute, ALERT_STATE_TABLE.partitionKey),
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        // The console's recent alerts of a zone, cleared ones included (contract/console.ts). Keyed by
        // zone, so a storm of transitions spreads over the city's zones; written when a state changes.
        IndexName: ALERT_ZONE_INDEX.name,
        KeySchema: keySchema(ALERT_ZONE_INDEX.partitionKey, ALERT_ZONE_INDEX.sortKey),
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...ALERT_ZONE_INDEX.projected] },
      },
    ],
  });

  const tableResource = sub('table/${Table}', { Table: ref(LogicalId.ReadingsTable) });
  const indexResource = sub(`table/\${Table}/index/${READINGS_TABLE.zoneIndexName}`, {
    Table: ref(LogicalId.ReadingsTable),
  });
  const table = [tableResource, 'table', Param.DynamoDBWriteCapacity] as const;
  const index = [indexResource, 'index', Param.ZoneIndexWriteCapacity] as const;
  const tableRead = autoScaling(config, 'Read', table[0], table[1], LogicalId.ReadingsTableReadScalableTarget, table[2]);
  const tableWrite = autoScaling(config, 'Write', table[0], table[1], LogicalId.ReadingsTableWriteScalableTarget, table[2]);
  const indexRead = autoScaling(config, 'Read', index[0], index[1], LogicalId.ZoneIndexReadScalableTarget, index[2]);
  const indexWrite = autoScaling(config, 'Write', index[0], index[1], LogicalId.ZoneIndexWriteScalableTarget, index[2]);

  return {
    resources: {
      ReadingsTable: readings,
      AlertStateTable: alertState,
      ReadingsTableReadScalableTarget: tableRead.target,
      ReadingsTableReadScalingPolicy: tableRead.policy,
      ReadingsTableWriteScalableTarget: tableWrite.target,
      ReadingsTableWriteScalingPolicy: tableWrite.policy,
      ZoneIndexReadScalableTarget: indexRead.target,
      ZoneIndexReadScalingPolicy: indexRead.policy,
      ZoneIndexWriteScalableTarget: indexWrite.target,
      ZoneIndexWriteScalingPolicy: indexWrite.policy,
    },
    outputs: {
      ReadingsTableName: exported('Per-sensor rolled-up readings', ref(LogicalId.ReadingsTable), 'ReadingsTableName'),
      AlertStateTableName: exported('Alert level per sensor', ref(LogicalId.AlertStateTable), 'AlertStateTableName'),
    },
    alarms: [
      writeThrottleAlarm({
        id: LogicalId.ReadingsTableThrottleAlarm,
        name: 'readings-table-throttles',
        what: 'the readings table',
        metric: tableMetric(LogicalId.ReadingsTable, 'WriteThrottleEvents'),
        runbook:
          'The processor retries and Lambda re-delivers what still fails, so nothing is lost, but latency grows. On demand: ' +
          'the table is beyond its warm throughput and adapts in minutes; PROVISIONED: raise `DynamoDBWriteCapacity`.',
      }),
      writeThrottleAlarm({
        id: LogicalId.ZoneIndexThrottleAlarm,
        name: 'zone-index-throttles',
        what: 'the zone index (raise ZoneIndexShards if one zone is hot)',
        metric: tableMetric(LogicalId.ReadingsTable, 'WriteThrottleEvents', READINGS_TABLE.zoneIndexName),
        runbook: 'One zone is hot: raise `ZoneIndexShards`. Nothing is lost (as `readings-table-throttles`).',
      }),
      writeThrottleAlarm({
        id: LogicalId.AlertStateTableThrottleAlarm,
        name: 'alert-state-throttles',
        what: 'the alert-state table',
        metric: tableMetric(LogicalId.AlertStateTable, 'WriteThrottleEvents'),
        runbook: 'Unusual (only elevated sensors touch it): a city-wide event; the table is on demand and adapts.',
      }),
    ],
  };
}
