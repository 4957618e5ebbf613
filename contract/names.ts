/**
 * Names the template, the processor, the scripts and the tests agree on: table attributes, the
 * alert event, the IoT topic, metric names and the environment suffix. One module, so a rename
 * cannot drift between the trees.
 */
import { COUNT_METRICS } from './metrics';

/** The environment suffix of every physical name: lowercase (S3 bucket names allow no uppercase). */
export const ENVIRONMENT_SUFFIX_PATTERN = /^[a-z0-9]{1,12}$/;
export const ENVIRONMENT_SUFFIX_RULE = '1-12 lowercase letters or digits';

/**
 * Attribute and index names of the readings table: one item per sensor and window of reading time
 * (key: sensor_id + timestamp, the window's start).
 */
export const READINGS_TABLE = {
  partitionKey: 'sensor_id',
  sortKey: 'timestamp',
  zoneIndexName: 'zone-shard-index',
  zoneIndexPartitionKey: 'zone_shard',
  ttlAttribute: 'expires_at',
  /** The time of the newest reading an item holds. */
  lastReadingAttribute: 'last_reading_at',
  /** How many readings an item holds: it only grows, so writes are conditioned on it. */
  countAttribute: 'reading_count',
  /** The readings an item holds, as ms offsets into its window: a reading is counted once. */
  offsetsAttribute: 'reading_offsets_ms',
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

/**
 * The IoT topics of one environment. A sensor publishes to `tapstack/<environment>/sensors/<thing>`
 * (scoped by environment, so that two stacks in one account and region never receive each other's
 * readings); with IoT Basic Ingest it publishes to the same topic behind the rule's reserved prefix,
 * `$aws/rules/<rule name>/tapstack/<environment>/sensors/<thing>`, which the rules engine strips
 * before the rule sees the topic (https://docs.aws.amazon.com/iot/latest/developerguide/iot-basic-ingest.html),
 * so the rule's SQL and its topic(n) positions are the same in both modes.
 */
export const SENSOR_TOPICS = {
  /** The topic a sensor publishes its readings to (through the broker). */
  topic: (environment: string, thing: string) => `tapstack/${environment}/sensors/${thing}`,
  /** The rule's topic filter: every sensor of the environment. */
  filter: (environment: string) => `tapstack/${environment}/sensors/+`,
  /** The level of the thing name in the topic, for the rule's `topic(n)`. */
  thingLevel: 4,
  /** The topic rule's name: stable per environment, because devices embed it in their Basic Ingest topic. */
  ruleName: (environment: string) => `tapstack_${environment}_sensor_readings`,
  /** The Basic Ingest topic a sensor publishes to (no broker, no messaging charge). */
  basicIngestTopic: (environment: string, thing: string) =>
    `$aws/rules/${SENSOR_TOPICS.ruleName(environment)}/${SENSOR_TOPICS.topic(environment, thing)}`,
} as const;

/** How sensors reach the rule: Basic Ingest (default; no broker messaging charge) or through the broker. */
export const INGEST_MODES = ['BASIC_INGEST', 'BROKER'] as const;
export type IngestMode = (typeof INGEST_MODES)[number];

/** The EventBridge events the processor publishes. */
export const ALERT_EVENT = {
  source: 'tapstack.traffic',
  detailType: 'Traffic Congestion Alert',
} as const;

/**
 * Metric names the processor emits (Embedded Metric Format) and the template alarms on: every
 * count of a batch by its key (contract/metrics.ts BATCH_COUNTS), then the others.
 */
export const METRIC = {
  ...COUNT_METRICS,
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
