/**
 * Names the template, the processor, the scripts and the tests agree on: table attributes, the
 * alert event, the IoT topic, metric names and the environment suffix. One module, so a rename
 * cannot drift between the trees.
 */

/** The environment suffix of every physical name: lowercase (S3 bucket names allow no uppercase). */
export const ENVIRONMENT_SUFFIX_PATTERN = /^[a-z0-9]{1,12}$/;
export const ENVIRONMENT_SUFFIX_RULE = '1-12 lowercase letters or digits';

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
  alertsSuppressed: 'AlertsSuppressed',
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

/** The namespace of the stack's own metrics, `TapStack/<environment>`. */
export const metricsNamespace = (prefix: string, environment: string): string => `${prefix}/${environment}`;
