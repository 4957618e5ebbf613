/**
 * The contract between the template and the processor Lambda: names both sides must agree on.
 * The template builders and the processor import this one module, so a rename cannot drift.
 */

/** Environment variables the template sets on the processor function. */
export const ENV = {
  tableName: 'TABLE_NAME',
  alertStateTableName: 'ALERT_STATE_TABLE_NAME',
  eventBusName: 'EVENT_BUS_NAME',
  quarantineQueueUrl: 'QUARANTINE_QUEUE_URL',
  metricsNamespace: 'METRICS_NAMESPACE',
  warningThreshold: 'WARNING_THRESHOLD',
  criticalThreshold: 'CRITICAL_THRESHOLD',
  alertHysteresisPoints: 'ALERT_HYSTERESIS_POINTS',
  alertCooldownSeconds: 'ALERT_COOLDOWN_SECONDS',
  zoneIndexShards: 'ZONE_INDEX_SHARDS',
  readingTtlDays: 'READING_TTL_DAYS',
  streamRetentionHours: 'STREAM_RETENTION_HOURS',
} as const;

/** Attribute and index names of the readings table (key: sensor_id + timestamp). */
export const READINGS_TABLE = {
  partitionKey: 'sensor_id',
  sortKey: 'timestamp',
  zoneIndexName: 'zone-shard-index',
  zoneIndexPartitionKey: 'zone_shard',
  ttlAttribute: 'expires_at',
} as const;

/**
 * The alert-state table: one item per sensor that is, or was, above a threshold.
 * A sparse index lists the sensors that are elevated (not NORMAL, or with an alert still to
 * publish), keyed by a bucket of the sensor's MD5: the same hash Kinesis routes partition keys
 * by, so the sensors of one shard fall in a few buckets whatever the resharding. A batch queries
 * only its own buckets: alert-state I/O grows with elevated sensors, not with all sensors.
 */
export const ALERT_STATE_TABLE = {
  partitionKey: 'sensor_id',
  elevatedIndexName: 'elevated-index',
  elevatedBucketAttribute: 'elevated_bucket',
} as const;

/** Buckets of the elevated index: the first byte of MD5(sensor id), 256 values. */
export const ELEVATED_BUCKET_COUNT = 256;

/** The IoT topic sensors publish to: `traffic/sensors/<thing name>`. */
export const SENSOR_TOPIC_PREFIX = 'traffic/sensors';

/** Fields the IoT topic rule adds to every reading before it reaches Kinesis. */
export const RULE_FIELDS = {
  /** Server receive time in epoch milliseconds (IoT SQL `timestamp()`). */
  receivedAt: 'received_at',
  /** The authenticated thing name, from the topic the device published to. */
  thingName: 'thing_name',
} as const;

/** The EventBridge events the processor publishes. */
export const ALERT_EVENT = {
  source: 'tapstack.traffic',
  detailType: 'Traffic Congestion Alert',
} as const;

/** Metric names the processor emits (Embedded Metric Format) and the template alarms on. */
export const METRIC = {
  recordsIn: 'RecordsIn',
  recordsStored: 'RecordsStored',
  recordsQuarantined: 'RecordsQuarantined',
  recordsRetried: 'RecordsRetried',
  itemsWritten: 'ItemsWritten',
  alertsPublished: 'AlertsPublished',
  endToEndLatencyMs: 'EndToEndLatencyMs',
  alertLatencyMs: 'AlertLatencyMs',
  zoneCongestionIndex: 'ZoneCongestionIndex',
  zoneVehicleCount: 'ZoneVehicleCount',
  iotRuleActionFailures: 'IotRuleActionFailures',
} as const;

/** Dimension names of the processor's metrics. */
export const METRIC_DIMENSION = {
  service: 'Service',
  zone: 'ZoneId',
} as const;

/** The value of the Service dimension on every processor metric. */
export const SERVICE_NAME = 'processor';
