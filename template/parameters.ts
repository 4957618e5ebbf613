/**
 * Every template parameter, declared once: its name, default, allowed values, description,
 * console group and, for those a function reads, the setting it feeds (whose range it shares).
 * The Parameters section, the console grouping, the config defaults (DEFAULTS.parameters), their
 * validation and the functions' environment blocks (template/functions.ts) derive from here.
 * Also the Conditions and Rules, which are what an operator's choices switch on and off.
 */
import { Fn, type IntrinsicFunction } from 'cloudform-types';
import type Parameter from 'cloudform-types/types/parameter';
import {
  SENSOR_STATUS_ITEM_COUNTS,
  SENSORS_PER_STATUS_ITEM,
  FUNCTION_SETTINGS,
  ENVIRONMENT_SUFFIX_PATTERN,
  INGEST_MODES,
  ENVIRONMENT_SUFFIX_RULE,
  PROCESSOR_SETTINGS,
  type NumberSettingName,
} from '../contract';
import { ref } from './intrinsics';
import { ids } from './names';

/** Console groups, in the order the CloudFormation console shows them. */
export const PARAMETER_GROUPS = [
  'Environment',
  'Ingestion (IoT Core)',
  'Stream (Kinesis)',
  'Storage (DynamoDB)',
  'Processor (Lambda)',
  'Alerting',
  'Operations and analytics',
  'Device provisioning',
  "Traffic controllers' console",
] as const;
type Group = (typeof PARAMETER_GROUPS)[number];

interface Common {
  /** The parameter's name in the template (the config key is the camel-case name it is declared under). */
  name: string;
  group: Group;
  description: string;
}
export interface NumberParameter extends Common {
  type: 'Number';
  default: number;
  /** MinValue/MaxValue, or a list of allowed values. */
  range?: { min: number; max: number };
  allowed?: readonly number[];
  constraint?: string;
  /** The function setting this parameter feeds (contract/env.ts; its range is the setting's): every function that reads it gets it. */
  env?: NumberSettingName;
}
export interface StringParameter extends Common {
  type: 'String';
  default?: string;
  allowed?: readonly string[];
  pattern?: string;
  constraint: string;
}
export type ParameterSpec = NumberParameter | StringParameter;

/** Thresholds are multiples of the step (CloudFormation rules cannot compare numbers: see buildRules). */
const threshold = PROCESSOR_SETTINGS.warningThreshold;
const steps = (from: number, to: number, step: number): number[] =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);
export const THRESHOLD_VALUES = steps(threshold.min, threshold.max, threshold.step);
const THRESHOLD_CONSTRAINT = `must be a multiple of ${threshold.step} from ${threshold.min} to ${threshold.max}`;

/** CloudWatch Logs accepts only these retention values. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

const EMAIL_PATTERN = '^$|^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$';
const PEM_CERTIFICATE_PATTERN = '^$|^-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\s]+-----END CERTIFICATE-----\\s*$';
const PEM_CONSTRAINT = 'must be empty or one PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)';
const settingRange = (env: NumberSettingName) => ({ min: FUNCTION_SETTINGS[env].min, max: FUNCTION_SETTINGS[env].max });

/** The parameters, in the order of the template's Parameters section. Defaults carry 50,000 updates/s. */
export const PARAMETERS = {
  environmentSuffix: {
    name: 'EnvironmentSuffix',
    group: 'Environment',
    type: 'String',
    description: 'Suffix of every physical resource name (for example dev, staging, prod).',
    default: 'dev',
    pattern: ENVIRONMENT_SUFFIX_PATTERN.source,
    constraint: `must be ${ENVIRONMENT_SUFFIX_RULE} (S3 bucket names allow no uppercase)`,
  },
  /** 'true' deletes data stores with the stack (dev and test stacks only). */
  throwawayEnvironment: {
    name: 'ThrowawayEnvironment',
    group: 'Environment',
    type: 'String',
    description:
      "'true' deletes the tables, bucket, stream and queues with the stack (dev and test only); " +
      "'false' retains them on stack deletion and resource replacement.",
    default: 'false',
    allowed: ['true', 'false'],
    constraint: "must be 'true' or 'false'",
  },
  /**
   * Basic Ingest: sensors publish straight to the rule (`$aws/rules/<rule>/…`), no broker and no
   * messaging charge (about $91,000 a month at 50,000 readings/s). BROKER also allows the plain
   * topic, for devices that cannot change their topic or other subscribers.
   */
  ingestMode: {
    name: 'IngestMode',
    group: 'Ingestion (IoT Core)',
    type: 'String',
    description:
      'BASIC_INGEST: sensors publish to $aws/rules/<rule name>/tapstack/<env>/sensors/<thing> (no messaging charge). ' +
      'BROKER: they may also publish to tapstack/<env>/sensors/<thing> through the message broker.',
    default: 'BASIC_INGEST',
    allowed: INGEST_MODES,
    constraint: `must be ${INGEST_MODES.join(' or ')}`,
  },
  /** PROVISIONED: predictable cost at a steady 50k/s. ON_DEMAND: no shard planning, pricier. */
  kinesisStreamMode: {
    name: 'KinesisStreamMode',
    group: 'Stream (Kinesis)',
    type: 'String',
    description: 'PROVISIONED uses KinesisShardCount shards; ON_DEMAND scales shards automatically at a higher unit price.',
    default: 'PROVISIONED',
    allowed: ['PROVISIONED', 'ON_DEMAND'],
    constraint: 'must be PROVISIONED or ON_DEMAND',
  },
  /** 50,000 records/s ÷ 1,000 records/s per shard = 50, plus 20% headroom = 60. */
  kinesisShardCount: {
    name: 'KinesisShardCount',
    group: 'Stream (Kinesis)',
    type: 'Number',
    description: 'Shards when PROVISIONED. One shard takes 1,000 records/s: 50,000 sensors at 1 Hz need 50; the default adds 20% headroom.',
    default: 60,
    range: { min: 1, max: 500 }, // 500: default shard quota per account in us-east-1
  },
  /** 24 h: the minimum and the cheapest; raw data is kept in S3 for history. */
  streamRetentionHours: {
    name: 'StreamRetentionHours',
    group: 'Stream (Kinesis)',
    type: 'Number',
    description: 'How long Kinesis keeps records (a processor outage longer than this loses them from the real-time path; S3 still has them).',
    default: 24,
    range: settingRange('streamRetentionHours'), // Kinesis: 24 h to 365 days
    env: 'streamRetentionHours',
  },
  /**
   * A city's sensors report every second around the clock: a steady load that provisioned capacity
   * carries for about half the on-demand price (npm run plan compares both).
   */
  dynamoDbBillingMode: {
    name: 'DynamoDBBillingMode',
    group: 'Storage (DynamoDB)',
    type: 'String',
    description:
      'PROVISIONED (with auto scaling; cheaper for the steady 24/7 load of sensors) or PAY_PER_REQUEST (on demand, pre-warmed to DynamoDBWarmWriteUnitsPerSecond).',
    default: 'PROVISIONED',
    allowed: ['PAY_PER_REQUEST', 'PROVISIONED'],
    constraint: 'must be PAY_PER_REQUEST or PROVISIONED',
  },
  /** Reads come from dashboards and tools, not from the pipeline. */
  dynamoDbReadCapacity: {
    name: 'DynamoDBReadCapacity',
    group: 'Storage (DynamoDB)',
    type: 'Number',
    description: 'Minimum read capacity units of the readings table and its zone index when PROVISIONED (auto scaling raises it).',
    default: 100,
    range: { min: 5, max: 40_000 }, // 40,000: default per-table quota
  },
  /**
   * Every batch merges each of its sensors into the sensor's window item: 50,000 sensors ÷ a 5 s
   * batching window × (1 + 5/60 for batches straddling two windows) ≈ 10,833 writes/s of a 1 KB
   * item, each a transactional write of two units (TransactWriteItems), at the auto scaling target
   * of 80% ≈ 27,100 (npm run plan).
   */
  dynamoDbWriteCapacity: {
    name: 'DynamoDBWriteCapacity',
    group: 'Storage (DynamoDB)',
    type: 'Number',
    description:
      'Minimum write capacity units of the readings table when PROVISIONED (auto scaling raises it). 50,000 sensors at 1 Hz write ≈ 10,833 window merges/s, two units each (transactional).',
    default: 27_100,
    range: { min: 5, max: 40_000 }, // 40,000: default per-table quota
  },
  /**
   * The keys-only zone index is written only when a window item is created: on average 50,000 /
   * 60 s ≈ 833/s, but all sensors open their next window within one batching window of the minute
   * boundary (≈ 10,000/s for 5 s), and an index short of capacity throttles the table's writes.
   */
  zoneIndexWriteCapacity: {
    name: 'ZoneIndexWriteCapacity',
    group: 'Storage (DynamoDB)',
    type: 'Number',
    description:
      'Minimum write capacity units of the zone index when PROVISIONED: every sensor opens a new window item within one batching window of each window boundary.',
    default: 12_000,
    range: { min: 5, max: 40_000 },
  },
  /**
   * On demand, a new table serves 4,000 writes/s at once and grows from there; pre-warming to the
   * steady load avoids throttling on day one (a one-time charge: DynamoDB pricing, warm throughput).
   */
  dynamoDbWarmWriteUnitsPerSecond: {
    name: 'DynamoDBWarmWriteUnitsPerSecond',
    group: 'Storage (DynamoDB)',
    type: 'Number',
    description:
      'PAY_PER_REQUEST only: write units/s the table and its zone index serve from the start (warm throughput; raising it above 4,000 is a one-time charge).',
    default: 27_000,
    range: { min: 4_000, max: 40_000 },
  },
  warningThreshold: {
    name: 'AlertThresholdCongestionIndex',
    group: 'Alerting',
    type: 'Number',
    description: 'WARNING level: a sensor whose congestion index rises above this raises a WARNING alert.',
    default: 80,
    allowed: THRESHOLD_VALUES.filter((t) => t < threshold.max),
    constraint: THRESHOLD_CONSTRAINT,
    env: 'warningThreshold',
  },
  criticalThreshold: {
    name: 'CriticalThresholdCongestionIndex',
    group: 'Alerting',
    type: 'Number',
    description: 'CRITICAL level: must be above AlertThresholdCongestionIndex.',
    default: 90,
    allowed: THRESHOLD_VALUES.filter((t) => t > threshold.min),
    constraint: THRESHOLD_CONSTRAINT,
    env: 'criticalThreshold',
  },
  /** Minimum time between two alerts of the same sensor and level. */
  alertCooldownSeconds: {
    name: 'AlertCooldownSeconds',
    group: 'Alerting',
    type: 'Number',
    description: 'Minimum time between two alerts of one sensor at one level (stops a sensor flapping around a threshold from paging people).',
    default: 300,
    range: settingRange('alertCooldownSeconds'),
    env: 'alertCooldownSeconds',
  },
  lambdaCodeS3Bucket: {
    name: 'LambdaCodeS3Bucket',
    group: 'Processor (Lambda)',
    type: 'String',
    description: 'S3 bucket holding the processor bundle (printed by npm run package).',
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    constraint: 'must be an S3 bucket name',
  },
  lambdaCodeS3Key: {
    name: 'LambdaCodeS3Key',
    group: 'Processor (Lambda)',
    type: 'String',
    description: 'S3 key of the processor bundle, processor-<sha256-12>.zip (printed by npm run package).',
    pattern: '^[\\x21-\\x7e]+\\.zip$',
    constraint: 'must be an S3 key ending in .zip',
  },
  /** The rollup window: Kinesis records are buffered this long before one invocation. */
  batchingWindowSeconds: {
    name: 'BatchingWindowSeconds',
    group: 'Processor (Lambda)',
    type: 'Number',
    description:
      'Rollup window: Kinesis records are gathered this long before one invocation. Longer = fewer DynamoDB writes, later dashboards and alerts.',
    default: 5,
    range: { min: 0, max: 300 }, // Lambda MaximumBatchingWindowInSeconds
  },
  /** Concurrent batches per shard; per-sensor ordering is kept (same partition key). */
  processorParallelizationFactor: {
    name: 'ProcessorParallelizationFactor',
    group: 'Processor (Lambda)',
    type: 'Number',
    description: 'Concurrent processor batches per shard (per-sensor order is kept).',
    default: 2,
    range: { min: 1, max: 10 }, // Lambda limit for Kinesis
  },
  /** 1,024 MB on arm64: enough CPU to turn a 10,000-record batch around in well under 1 s. */
  processorMemoryMb: {
    name: 'ProcessorMemoryMB',
    group: 'Processor (Lambda)',
    type: 'Number',
    description: 'Processor memory (and so CPU share), in MB.',
    default: 1024,
    range: { min: 256, max: 10_240 },
  },
  /** At least shards × parallelization (60 × 2 = 120), plus headroom for ON_DEMAND resharding. */
  processorReservedConcurrency: {
    name: 'ProcessorReservedConcurrency',
    group: 'Processor (Lambda)',
    type: 'Number',
    description: 'Concurrency reserved for the processor; at least KinesisShardCount × ProcessorParallelizationFactor.',
    default: 150,
    range: { min: 1, max: 3_000 },
  },
  /** Write shards of the zone index: a 2,000-sensor zone spreads over this many keys. */
  zoneIndexShards: {
    name: 'ZoneIndexShards',
    group: 'Storage (DynamoDB)',
    type: 'Number',
    description: 'Write shards of the zone index key (zone_id#n): spreads a busy zone over n partitions; a zone query fans out n ways.',
    default: 10,
    range: settingRange('zoneIndexShards'),
    env: 'zoneIndexShards',
  },
  /**
   * One item per sensor per minute of reading time: a window's readings are merged into its item
   * batch after batch, each counted once whatever the delivery. Longer: fewer items to store, larger
   * items (the readings' offsets grow with the window); 60 s at 1 Hz keeps an item under 1 KB.
   */
  rollupWindowSeconds: {
    name: 'RollupWindowSeconds',
    group: 'Storage (DynamoDB)',
    type: 'Number',
    description:
      'Each rollup item holds one sensor\'s readings of a window of this many seconds (1 stores each reading of a 1 Hz sensor as its own item).',
    default: 60,
    allowed: [1, 5, 10, 15, 20, 30, 60, 120, 300],
    constraint: 'must be one of 1, 5, 10, 15, 20, 30, 60, 120, 300',
    env: 'rollupWindowSeconds',
  },
  /** Rolled-up readings expire from DynamoDB after this; raw readings stay in S3. */
  readingRetentionDays: {
    name: 'ReadingRetentionDays',
    group: 'Storage (DynamoDB)',
    type: 'Number',
    description: 'Rolled-up readings expire from DynamoDB after this many days (TTL); raw readings stay in S3.',
    default: 7,
    range: settingRange('readingTtlDays'),
    env: 'readingTtlDays',
  },
  /**
   * A dead sensor looks like free-flowing traffic; a city-wide outage (IoT, the rule, the network)
   * looks like no traffic at all. Half of 50,000 sensors' readings a minute by default.
   */
  minimumReadingsPerMinute: {
    name: 'MinimumReadingsPerMinute',
    group: 'Operations and analytics',
    type: 'Number',
    description:
      'Alarm (sensors-stopped) when fewer readings than this reach the processor in each of 3 minutes, or none at all. ' +
      'Set it to about half the fleet\'s readings a minute; 0 alarms only when no reading arrives.',
    default: 1_500_000,
    range: { min: 0, max: 100_000_000 },
  },
  /**
   * Sensor health (template/layers/health.ts). A period is one rollup window (60 s by default): a sensor
   * with no reading for 5 minutes is silent. Shorter is noisier (a sensor's readings can arrive a
   * window late through a slow batch); the minimum of 2 keeps the current, still filling window out.
   */
  silentSensorPeriods: {
    name: 'SilentSensorPeriods',
    group: 'Operations and analytics',
    type: 'Number',
    description:
      'A sensor is silent (Sensor Silent event) when it has no reading in this many rollup windows (RollupWindowSeconds each), ' +
      'and recovered (Sensor Recovered) on its next reading.',
    default: 5,
    range: settingRange('silentSensorPeriods'),
    env: 'silentSensorPeriods',
  },
  /** Below this share of a zone's sensors reporting, a zone-wide outage (power, network) is likelier than dead sensors. */
  minimumReportingSharePercent: {
    name: 'MinimumReportingSharePercent',
    group: 'Operations and analytics',
    type: 'Number',
    description:
      "Alarm (zone-reporting-share) when, in some zone, fewer than this percentage of the sensors expected there reported in the last SilentSensorPeriods windows.",
    default: 80,
    range: { min: 0, max: 100 },
  },
  /** A week: long enough to repair a sensor; after it, a dead sensor stops weighing on its zone's share. */
  forgetSilentSensorDays: {
    name: 'ForgetSilentSensorDays',
    group: 'Operations and analytics',
    type: 'Number',
    description:
      'A sensor silent this many days is forgotten (decommissioned): no longer expected in its zone. It is expected again from its next reading.',
    default: 7,
    range: settingRange('forgetSilentSensorDays'),
    env: 'forgetSilentSensorDays',
  },
  logRetentionDays: {
    name: 'LogRetentionDays',
    group: 'Operations and analytics',
    type: 'Number',
    description: 'Retention of every log group of the stack, in days.',
    default: 30,
    allowed: LOG_RETENTION_DAYS,
    constraint: 'must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)',
  },
  notificationEmail: {
    name: 'NotificationEmail',
    group: 'Alerting',
    type: 'String',
    description: 'Email address that receives congestion alerts (empty: no email subscription).',
    default: '',
    pattern: EMAIL_PATTERN,
    constraint: 'must be empty or an email address',
  },
  opsNotificationEmail: {
    name: 'OpsNotificationEmail',
    group: 'Alerting',
    type: 'String',
    description: 'Email address that receives operational alarms (empty: no email subscription).',
    default: '',
    pattern: EMAIL_PATTERN,
    constraint: 'must be empty or an email address',
  },
  quickSightPrincipalArn: {
    name: 'QuickSightPrincipalArn',
    group: 'Operations and analytics',
    type: 'String',
    description: 'QuickSight user or group ARN given the Athena data source and data set (empty: no QuickSight resources).',
    default: '',
    pattern: '^$|^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:(user|group)/.+$',
    constraint: 'must be empty or a QuickSight user or group ARN',
  },
  /**
   * A CA of the city's own, for this account only: set, sensors are provisioned on their first
   * connect (JITP). JITP trusts every certificate the CA signs (its CN becomes a new sensor, its OU the
   * sensor's zone), so a CA shared with anyone else (a vendor's, signing other customers' devices)
   * lets them put sensors into this city's data.
   */
  deviceCaCertificatePem: {
    name: 'DeviceCaCertificatePem',
    group: 'Device provisioning',
    type: 'String',
    description:
      "PEM of a CA dedicated to this city and this AWS account, which signs only its sensors' certificates (never a vendor CA " +
      'shared with other customers: JITP trusts everything the CA signs). Set: the CA is registered with auto-registration and ' +
      'a new sensor is provisioned on its first connect (JITP). Empty: no JITP.',
    default: '',
    pattern: PEM_CERTIFICATE_PATTERN,
    constraint: PEM_CONSTRAINT,
  },
  deviceCaVerificationCertificatePem: {
    name: 'DeviceCaVerificationCertificatePem',
    group: 'Device provisioning',
    type: 'String',
    description:
      "Proof that you hold the CA key: a certificate the CA signed with CN = this account's registration code " +
      '(npm run provision -- --verification-cert). Required when DeviceCaCertificatePem is set.',
    default: '',
    pattern: PEM_CERTIFICATE_PATTERN,
    constraint: PEM_CONSTRAINT,
  },
  /**
   * The console reads every sensor's latest reading from this many items (template/layers/console.ts):
   * each batch writes the items its sensors fall in, so more items mean smaller writes but more of
   * them. 256 (the hash's first byte) keeps an item near 10 KB at 50,000 sensors.
   */
  sensorStatusItems: {
    name: 'SensorStatusItems',
    group: "Traffic controllers' console",
    type: 'Number',
    description:
      `Items the sensor-status table (each sensor's latest reading, for the console) spreads the sensors over: a power of two, about one per ${SENSORS_PER_STATUS_ITEM} sensors (npm run plan recommends it).`,
    default: 256,
    allowed: SENSOR_STATUS_ITEM_COUNTS,
    constraint: `must be one of ${SENSOR_STATUS_ITEM_COUNTS.join(', ')}`,
    env: 'sensorStatusItems',
  },
  consoleMfa: {
    name: 'ConsoleMfa',
    group: "Traffic controllers' console",
    type: 'String',
    description: 'Multi-factor sign-in for the console (an authenticator app, TOTP): ON for everyone, OPTIONAL (each user chooses) or OFF.',
    default: 'ON',
    allowed: ['OFF', 'OPTIONAL', 'ON'],
    constraint: 'must be OFF, OPTIONAL or ON',
  },
  /** Empty: the console is at the distribution's own https://<id>.cloudfront.net address. */
  consoleDomainName: {
    name: 'ConsoleDomainName',
    group: "Traffic controllers' console",
    type: 'String',
    description: 'Custom domain of the console, e.g. traffic.city.example (empty: the CloudFront address). Needs ConsoleCertificateArn; point a DNS CNAME or alias at the distribution.',
    default: '',
    pattern: '^$|^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$',
    constraint: 'must be empty or a lowercase DNS name',
  },
  /** CloudFront takes certificates from us-east-1 only. */
  consoleCertificateArn: {
    name: 'ConsoleCertificateArn',
    group: "Traffic controllers' console",
    type: 'String',
    description: 'ACM certificate (in us-east-1, as CloudFront requires) for ConsoleDomainName; empty with an empty ConsoleDomainName.',
    default: '',
    pattern: '^$|^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]{36}$',
    constraint: 'must be empty or an ACM certificate ARN in us-east-1',
  },
  /** A CloudFront web ACL must be created in us-east-1 (scope CLOUDFRONT), so a stack elsewhere takes one made apart. */
  consoleWebAclArn: {
    name: 'ConsoleWebAclArn',
    group: "Traffic controllers' console",
    type: 'String',
    description:
      'AWS WAF web ACL (scope CLOUDFRONT, made in us-east-1) in front of the console, e.g. IP allow-lists of the city\'s networks and rate limits; empty: none.',
    default: '',
    pattern: '^$|^arn:aws[a-z-]*:wafv2:us-east-1:[0-9]{12}:global/webacl/[A-Za-z0-9_-]{1,128}/[0-9a-f-]{36}$',
    constraint: 'must be empty or the ARN of a WAFv2 web ACL of scope CLOUDFRONT (in us-east-1)',
  },
  /** None by default: the page works with no internet and draws a schematic map. */
  consoleMapTileUrl: {
    name: 'ConsoleMapTileUrl',
    group: "Traffic controllers' console",
    type: 'String',
    description:
      'Map tiles under the console\'s map, an https URL template with {z}, {x} and {y} on one host (e.g. a city GIS tile server). Empty: a schematic map, no internet needed. Check the provider\'s usage policy.',
    default: '',
    pattern: '^$|^https://[a-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9._~/@%-]*\\{z\\}[A-Za-z0-9._~/@%{}-]*$',
    constraint: 'must be empty or an https URL template on one host with {z}, {x} and {y}',
  },
  consoleMapAttribution: {
    name: 'ConsoleMapAttribution',
    group: "Traffic controllers' console",
    type: 'String',
    description: 'Attribution the tile provider requires, shown on the map as text (e.g. © OpenStreetMap contributors).',
    default: '',
    pattern: '^[^<>]{0,200}$',
    constraint: 'must be at most 200 characters, without < or >',
  },
  /** 50 controllers polling twice every 2 s is 50 requests/s; twice that leaves room for zone panels. */
  consoleApiRequestsPerSecond: {
    name: 'ConsoleApiRequestsPerSecond',
    group: "Traffic controllers' console",
    type: 'Number',
    description: 'Steady-state request rate the console API accepts (stage throttling; more is answered 429).',
    default: 100,
    range: { min: 1, max: 10_000 },
    },
  /**
   * The one role outside the stack that may act on its protected paths: publish to the alerts topic
   * (npm run redrive -- --alerts; everyone else is denied) and, with bulk registration, pass the bulk
   * role to AWS IoT.
   */
  operatorRoleName: {
    name: 'OperatorRoleName',
    group: 'Operations and analytics',
    type: 'String',
    description:
      "Name of the IAM role the city's operators use for npm run redrive -- --alerts and npm run provision. The alerts topic " +
      'denies publishing to every other principal but the stack\'s alert rule. Empty: nobody but the rule publishes alerts, and bulk registration is off.',
    default: '',
    pattern: '^$|^[\\w+=,.@-]{1,64}$',
    constraint: 'must be empty or an IAM role name (1-64 of letters, digits and + = , . @ _ -)',
  },
  /**
   * Bulk registration runs a template body of the caller's choosing with the bulk role's powers, so
   * the role exists only when asked for, and only the operator role may pass it to AWS IoT.
   */
  enableBulkRegistration: {
    name: 'EnableBulkRegistration',
    group: 'Device provisioning',
    type: 'String',
    description:
      "'true' creates BulkRegistrationRole for npm run provision (bulk registration) and lets only OperatorRoleName pass it to " +
      "AWS IoT (OperatorRoleName is then required); 'false' (the default): no bulk registration role.",
    default: 'false',
    allowed: ['true', 'false'],
    constraint: "must be 'true' or 'false'",
  },
} as const satisfies Record<string, ParameterSpec>;

type Specs = typeof PARAMETERS;
export type ParameterKey = keyof Specs;
export type ParamName = Specs[ParameterKey]['name'];

/** The config value of a parameter: its allowed strings, or a number. */
type ValueOf<S> = S extends { type: 'Number' } ? number : S extends { allowed: readonly (infer A)[] } ? A : string;
/** Default values of the parameters that have one, by config key. */
export type ParameterDefaults = {
  -readonly [K in ParameterKey as Specs[K] extends { default: unknown } ? K : never]: ValueOf<Specs[K]>;
};

/** Parameter names, for `param(Param.X)` in the builders. */
export const Param = ids(...(Object.values(PARAMETERS).map((p) => p.name) as ParamName[]));

export const Cond = ids(
  'IsBrokerIngest',
  'IsStreamProvisioned',
  'IsTableProvisioned',
  'IsTableOnDemand',
  'IsThrowaway',
  'HasNotificationEmail',
  'HasOpsNotificationEmail',
  'HasQuickSight',
  'HasDeviceCa',
  'HasOperatorRole',
  'IsBulkRegistrationEnabled',
  // Only for cfn-lint (W1030): the verification certificate is required whenever the CA is set.
  'HasDeviceCaVerification',
  'HasConsoleDomain',
  // The certificate goes with the domain (rule ConsoleDomainNeedsCertificate); cfn-lint (W1030) needs its own condition.
  'HasConsoleCertificate',
  'HasConsoleMapTiles',
  'HasConsoleWebAcl',
  'IsConsoleMfaOff',
);
export type ConditionName = keyof typeof Cond;

/** `Ref` to a parameter, typed by the registry. */
export const param = (name: ParamName): IntrinsicFunction => ref(name);

/** The parameter that feeds a processor setting, if any. */
export const parameterOfSetting = (setting: string): ParamName | undefined =>
  Object.values(PARAMETERS as Record<string, ParameterSpec>).find((p) => p.type === 'Number' && p.env === setting)?.name as
    | ParamName
    | undefined;

function parameter(spec: ParameterSpec, def: unknown): Parameter {
  if (spec.type === 'Number') {
    const constraint = spec.constraint ?? `must be a whole number from ${spec.range?.min} to ${spec.range?.max}`;
    return {
      Type: 'Number',
      Description: spec.description,
      Default: def as number,
      ...(spec.range ? { MinValue: spec.range.min, MaxValue: spec.range.max } : { AllowedValues: [...spec.allowed!] }),
      ConstraintDescription: constraint,
    };
  }
  return {
    Type: 'String',
    Description: spec.description,
    ...(def !== undefined ? { Default: def as string } : {}),
    ...(spec.allowed ? { AllowedValues: [...spec.allowed] } : { AllowedPattern: spec.pattern! }),
    ConstraintDescription: spec.constraint,
  };
}

/** The Parameters section, with the given defaults (DEFAULTS.parameters unless a test varies them). */
export function buildParameters(defaults: ParameterDefaults): Record<ParamName, Parameter> {
  return Object.fromEntries(
    Object.entries(PARAMETERS).map(([key, spec]) => [spec.name, parameter(spec, (defaults as Record<string, unknown>)[key])]),
  ) as Record<ParamName, Parameter>;
}

/** Console grouping of the parameters (AWS::CloudFormation::Interface). */
export function buildInterface(): Record<string, unknown> {
  const specs = Object.values(PARAMETERS) as ParameterSpec[];
  return {
    'AWS::CloudFormation::Interface': {
      ParameterGroups: PARAMETER_GROUPS.map((label) => ({
        Label: { default: label },
        Parameters: specs.filter((s) => s.group === label).map((s) => s.name),
      })),
    },
  };
}

/** The Conditions that parameters switch: provisioned or on-demand capacity, throwaway, optional emails and QuickSight. */
export function buildConditions(): Record<ConditionName, unknown> {
  return {
    IsBrokerIngest: Fn.Equals(param(Param.IngestMode), 'BROKER'),
    IsStreamProvisioned: Fn.Equals(param(Param.KinesisStreamMode), 'PROVISIONED'),
    IsTableProvisioned: Fn.Equals(param(Param.DynamoDBBillingMode), 'PROVISIONED'),
    IsTableOnDemand: Fn.Equals(param(Param.DynamoDBBillingMode), 'PAY_PER_REQUEST'),
    IsThrowaway: Fn.Equals(param(Param.ThrowawayEnvironment), 'true'),
    HasNotificationEmail: Fn.Not(Fn.Equals(param(Param.NotificationEmail), '')),
    HasOpsNotificationEmail: Fn.Not(Fn.Equals(param(Param.OpsNotificationEmail), '')),
    HasQuickSight: Fn.Not(Fn.Equals(param(Param.QuickSightPrincipalArn), '')),
    HasDeviceCa: Fn.Not(Fn.Equals(param(Param.DeviceCaCertificatePem), '')),
    HasDeviceCaVerification: Fn.Not(Fn.Equals(param(Param.DeviceCaVerificationCertificatePem), '')),
    HasOperatorRole: Fn.Not(Fn.Equals(param(Param.OperatorRoleName), '')),
    IsBulkRegistrationEnabled: Fn.Equals(param(Param.EnableBulkRegistration), 'true'),
    HasConsoleDomain: Fn.Not(Fn.Equals(param(Param.ConsoleDomainName), '')),
    HasConsoleCertificate: Fn.Not(Fn.Equals(param(Param.ConsoleCertificateArn), '')),
    HasConsoleMapTiles: Fn.Not(Fn.Equals(param(Param.ConsoleMapTileUrl), '')),
    HasConsoleWebAcl: Fn.Not(Fn.Equals(param(Param.ConsoleWebAclArn), '')),
    IsConsoleMfaOff: Fn.Equals(param(Param.ConsoleMfa), 'OFF'),
  };
}

/**
 * Rules that reject inconsistent parameter combinations before any resource is touched.
 * CloudFormation rules cannot compare numbers, so the threshold order is checked per allowed
 * CRITICAL value: for each, WARNING must be one of the smaller allowed values.
 */
export function buildRules(): Record<string, unknown> {
  const criticalValues = THRESHOLD_VALUES.filter((t) => t > threshold.min);
  return {
    CriticalAboveWarning: {
      Assertions: criticalValues.map((critical) => ({
        Assert: {
          'Fn::Or': [
            { 'Fn::Not': [{ 'Fn::Equals': [param(Param.CriticalThresholdCongestionIndex), String(critical)] }] },
            {
              'Fn::Contains': [
                THRESHOLD_VALUES.filter((t) => t < critical).map(String),
                param(Param.AlertThresholdCongestionIndex),
              ],
            },
          ],
        },
        AssertDescription: `CriticalThresholdCongestionIndex ${critical} must be above AlertThresholdCongestionIndex`,
      })),
    },
    DeviceCaNeedsVerificationCertificate: {
      RuleCondition: { 'Fn::Not': [{ 'Fn::Equals': [param(Param.DeviceCaCertificatePem), ''] }] },
      Assertions: [
        {
          Assert: { 'Fn::Not': [{ 'Fn::Equals': [param(Param.DeviceCaVerificationCertificatePem), ''] }] },
          AssertDescription: 'DeviceCaVerificationCertificatePem is required when DeviceCaCertificatePem is set',
        },
      ],
    },
    ConsoleDomainNeedsCertificate: {
      Assertions: [
        {
          Assert: {
            'Fn::Or': [
              { 'Fn::And': [{ 'Fn::Equals': [param(Param.ConsoleDomainName), ''] }, { 'Fn::Equals': [param(Param.ConsoleCertificateArn), ''] }] },
              {
                'Fn::And': [
                  { 'Fn::Not': [{ 'Fn::Equals': [param(Param.ConsoleDomainName), ''] }] },
                  { 'Fn::Not': [{ 'Fn::Equals': [param(Param.ConsoleCertificateArn), ''] }] },
                ],
              },
            ],
          },
          AssertDescription: 'ConsoleDomainName and ConsoleCertificateArn are set together (a custom domain needs its certificate) or both left empty',
          },
        ],
      },
    BulkRegistrationNeedsOperator: {
      RuleCondition: { 'Fn::Equals': [param(Param.EnableBulkRegistration), 'true'] },
      Assertions: [
        {
          Assert: { 'Fn::Not': [{ 'Fn::Equals': [param(Param.OperatorRoleName), ''] }] },
          AssertDescription: 'OperatorRoleName is required when EnableBulkRegistration is true: only that role may pass the bulk role to AWS IoT',
        },
      ],
    },
    ProductionKeepsData: {
      RuleCondition: { 'Fn::Equals': [param(Param.EnvironmentSuffix), 'prod'] },
      Assertions: [
        {
          Assert: { 'Fn::Equals': [param(Param.ThrowawayEnvironment), 'false'] },
          AssertDescription: "ThrowawayEnvironment must be 'false' when EnvironmentSuffix is prod",
        },
      ],
    },
  };
}
