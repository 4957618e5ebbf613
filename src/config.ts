/**
 * Every tunable of the stack in one place. Values that operators change per deployment become
 * CloudFormation Parameter defaults; the rest are fixed design constants with their reason.
 */

/** Defaults of the template's Parameters. Capacity defaults carry 50,000 updates/s. */
export interface ParameterDefaults {
  /** Suffix of every physical name. Lowercase because S3 bucket names must be. */
  environmentSuffix: string;
  /** PROVISIONED: predictable cost at a steady 50k/s. ON_DEMAND: no shard planning, pricier. */
  kinesisStreamMode: 'PROVISIONED' | 'ON_DEMAND';
  /** 50,000 records/s ÷ 1,000 records/s per shard = 50, plus 20% headroom = 60. */
  kinesisShardCount: number;
  /** 24 h: the minimum and the cheapest; raw data is kept in S3 for history. */
  streamRetentionHours: number;
  dynamoDbBillingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  /** Reads come from dashboards and tools, not from the pipeline. */
  dynamoDbReadCapacity: number;
  /** 50,000 readings/s rolled up per sensor over a 5 s window ≈ 10,000 items/s, plus 20%. */
  dynamoDbWriteCapacity: number;
  /** WARNING level threshold on the congestion index (0–100). */
  warningThreshold: number;
  /** CRITICAL level threshold on the congestion index; must be above the warning threshold. */
  criticalThreshold: number;
  /** Minimum time between two alerts of the same sensor and level. */
  alertCooldownSeconds: number;
  /** The rollup window: Kinesis records are buffered this long before one invocation. */
  batchingWindowSeconds: number;
  /** Concurrent batches per shard; per-sensor ordering is kept (same partition key). */
  processorParallelizationFactor: number;
  /** 1,024 MB on arm64: enough CPU to turn a 10,000-record batch around in well under 1 s. */
  processorMemoryMb: number;
  /** At least shards × parallelization (60 × 2 = 120), plus headroom for ON_DEMAND resharding. */
  processorReservedConcurrency: number;
  /** Write shards of the zone index: a 2,000-sensor zone spreads over this many keys. */
  zoneIndexShards: number;
  /** Rolled-up readings expire from DynamoDB after this; raw readings stay in S3. */
  readingRetentionDays: number;
  logRetentionDays: number;
  /** 'true' deletes data stores with the stack (dev and test stacks only). */
  throwawayEnvironment: 'true' | 'false';
}

export interface StackConfig {
  /** Tag value of `Project` and lowercase prefix of physical names. */
  project: string;
  /** Namespace prefix of the processor's custom metrics; the environment suffix is appended. */
  metricsNamespacePrefix: string;
  parameters: ParameterDefaults;
  /** Thresholds that parameters may take: multiples of this step (see thresholdRules). */
  thresholdStep: number;
  /** A level is left only when the index falls this many points below its threshold. */
  alertHysteresisPoints: number;
  /** Dashboard freshness target: a reading is on the dashboard within 10 s. */
  endToEndLatencyTargetMs: number;
  /** Alert target: an alert is delivered within 30 s of the reading that crosses a threshold. */
  alertLatencyTargetMs: number;
  /** Time the processor may take for one batch inside the alert budget. */
  processorBudgetMs: number;
  /** Lambda timeout: retries with backoff for a full 10,000-record batch fit well inside it. */
  processorTimeoutSeconds: number;
  /** Kinesis → Lambda batch size: the Kinesis maximum, so a 5 s window is never cut short. */
  processorBatchSize: number;
  /** Bounded retries: a poison batch is bisected, retried this often, then sent to the DLQ. */
  processorMaximumRetryAttempts: number;
  /** Records older than this skip the processor (they still reach S3 through Firehose). */
  processorMaximumRecordAgeSeconds: number;
  /** Warm throughput of the on-demand readings table and its index (units per second). */
  warmWriteUnitsPerSecond: number;
  warmReadUnitsPerSecond: number;
  /** Auto scaling ceiling for provisioned mode: DynamoDB's default per-table quota. */
  autoScalingMaxCapacity: number;
  autoScalingTargetUtilizationPercent: number;
  /** SQS maximum retention, so an operator has two weeks to look at a dead letter. */
  queueRetentionSeconds: number;
  /** Alarm when the quarantine holds more than this many readings. */
  quarantineDepthAlarmThreshold: number;
  /** Replay window of the alert archive. */
  alertArchiveRetentionDays: number;
  /** Firehose buffer: Parquet conversion needs at least 64 MB. */
  firehoseBufferSizeMb: number;
  firehoseBufferIntervalSeconds: number;
  /** Raw-data lifecycle in S3. */
  rawDataInfrequentAccessDays: number;
  rawDataGlacierDays: number;
  athenaResultsExpirationDays: number;
  /** Dashboard auto-refresh; metrics are high resolution (1 s) so 10 s is meaningful. */
  dashboardRefreshSeconds: number;
}

export const DEFAULTS: StackConfig = {
  project: 'TapStack',
  metricsNamespacePrefix: 'TapStack',
  parameters: {
    environmentSuffix: 'dev',
    kinesisStreamMode: 'PROVISIONED',
    kinesisShardCount: 60,
    streamRetentionHours: 24,
    dynamoDbBillingMode: 'PAY_PER_REQUEST',
    dynamoDbReadCapacity: 100,
    dynamoDbWriteCapacity: 12_000,
    warningThreshold: 80,
    criticalThreshold: 90,
    alertCooldownSeconds: 300,
    batchingWindowSeconds: 5,
    processorParallelizationFactor: 2,
    processorMemoryMb: 1024,
    processorReservedConcurrency: 150,
    zoneIndexShards: 10,
    readingRetentionDays: 7,
    logRetentionDays: 30,
    throwawayEnvironment: 'false',
  },
  thresholdStep: 5,
  alertHysteresisPoints: 5,
  endToEndLatencyTargetMs: 10_000,
  alertLatencyTargetMs: 30_000,
  processorBudgetMs: 5_000,
  processorTimeoutSeconds: 60,
  processorBatchSize: 10_000,
  processorMaximumRetryAttempts: 5,
  processorMaximumRecordAgeSeconds: 3_600,
  warmWriteUnitsPerSecond: 12_000,
  warmReadUnitsPerSecond: 12_000,
  autoScalingMaxCapacity: 40_000,
  autoScalingTargetUtilizationPercent: 70,
  queueRetentionSeconds: 1_209_600,
  quarantineDepthAlarmThreshold: 100,
  alertArchiveRetentionDays: 30,
  firehoseBufferSizeMb: 128,
  firehoseBufferIntervalSeconds: 300,
  rawDataInfrequentAccessDays: 30,
  rawDataGlacierDays: 90,
  athenaResultsExpirationDays: 30,
  dashboardRefreshSeconds: 10,
};

/** Allowed ranges of the numeric parameters; the template's MinValue/MaxValue come from here. */
export const RANGES = {
  kinesisShardCount: { min: 1, max: 500 }, // 500: default shard quota per account in us-east-1
  streamRetentionHours: { min: 24, max: 8760 }, // Kinesis: 24 h to 365 days
  dynamoDbCapacity: { min: 5, max: 40_000 }, // 40,000: default per-table quota
  threshold: { min: 5, max: 100 },
  alertCooldownSeconds: { min: 0, max: 86_400 },
  batchingWindowSeconds: { min: 0, max: 300 }, // Lambda MaximumBatchingWindowInSeconds
  processorParallelizationFactor: { min: 1, max: 10 }, // Lambda limit for Kinesis
  processorMemoryMb: { min: 256, max: 10_240 },
  processorReservedConcurrency: { min: 1, max: 3_000 },
  zoneIndexShards: { min: 1, max: 100 },
  readingRetentionDays: { min: 1, max: 3_650 },
} as const;

/** CloudWatch Logs accepts only these retention values. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Checks a configuration once, before anything is built, and lists every problem in one error.
 * @throws ConfigError naming each field, the value received and the allowed range.
 */
export function validateConfig(config: StackConfig): StackConfig {
  const problems: string[] = [];
  const p = config.parameters;
  const inRange = (field: string, value: number, range: { min: number; max: number }) => {
    if (!Number.isInteger(value) || value < range.min || value > range.max) {
      problems.push(`${field}: got ${value}, expected an integer from ${range.min} to ${range.max}`);
    }
  };
  if (!/^[a-z0-9]{1,12}$/.test(p.environmentSuffix)) {
    problems.push(`environmentSuffix: got '${p.environmentSuffix}', expected 1-12 lowercase letters or digits`);
  }
  inRange('kinesisShardCount', p.kinesisShardCount, RANGES.kinesisShardCount);
  inRange('streamRetentionHours', p.streamRetentionHours, RANGES.streamRetentionHours);
  inRange('dynamoDbReadCapacity', p.dynamoDbReadCapacity, RANGES.dynamoDbCapacity);
  inRange('dynamoDbWriteCapacity', p.dynamoDbWriteCapacity, RANGES.dynamoDbCapacity);
  inRange('warningThreshold', p.warningThreshold, RANGES.threshold);
  inRange('criticalThreshold', p.criticalThreshold, RANGES.threshold);
  for (const [field, value] of [
    ['warningThreshold', p.warningThreshold],
    ['criticalThreshold', p.criticalThreshold],
  ] as const) {
    if (value % config.thresholdStep !== 0) {
      problems.push(`${field}: got ${value}, expected a multiple of ${config.thresholdStep}`);
    }
  }
  if (p.criticalThreshold <= p.warningThreshold) {
    problems.push(
      `criticalThreshold: got ${p.criticalThreshold}, expected above warningThreshold (${p.warningThreshold})`,
    );
  }
  inRange('alertCooldownSeconds', p.alertCooldownSeconds, RANGES.alertCooldownSeconds);
  inRange('batchingWindowSeconds', p.batchingWindowSeconds, RANGES.batchingWindowSeconds);
  inRange('processorParallelizationFactor', p.processorParallelizationFactor, RANGES.processorParallelizationFactor);
  inRange('processorMemoryMb', p.processorMemoryMb, RANGES.processorMemoryMb);
  inRange('processorReservedConcurrency', p.processorReservedConcurrency, RANGES.processorReservedConcurrency);
  inRange('zoneIndexShards', p.zoneIndexShards, RANGES.zoneIndexShards);
  inRange('readingRetentionDays', p.readingRetentionDays, RANGES.readingRetentionDays);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(p.logRetentionDays)) {
    problems.push(`logRetentionDays: got ${p.logRetentionDays}, expected one of ${LOG_RETENTION_DAYS.join(', ')}`);
  }
  const needed = p.kinesisShardCount * p.processorParallelizationFactor;
  if (p.processorReservedConcurrency < needed) {
    problems.push(
      `processorReservedConcurrency: got ${p.processorReservedConcurrency}, expected at least ` +
        `kinesisShardCount × processorParallelizationFactor = ${needed}`,
    );
  }
  if (config.processorBudgetMs + p.batchingWindowSeconds * 1000 >= config.alertLatencyTargetMs) {
    problems.push(
      `batchingWindowSeconds: got ${p.batchingWindowSeconds}, leaves no room for the ` +
        `${config.alertLatencyTargetMs} ms alert target with a ${config.processorBudgetMs} ms processor budget`,
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid stack configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return config;
}
