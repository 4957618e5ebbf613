import { ConfigError } from './errors';
import { PARAMETERS, type ParameterDefaults, type ParameterSpec } from './parameters';

export { ConfigError };

/**
 * Every tunable of the stack in one place. Values that operators change per deployment become
 * CloudFormation Parameter defaults; the rest are fixed design constants with their reason.
 */

export interface StackConfig {
  /** Tag value of `Project` and lowercase prefix of physical names. */
  project: string;
  /** Namespace prefix of the processor's custom metrics; the environment suffix is appended. */
  metricsNamespacePrefix: string;
  /** Defaults of the template's Parameters, by config key (template/parameters.ts declares each one). */
  parameters: ParameterDefaults;
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
  /**
   * -1: records are processed for as long as the stream keeps them (StreamRetentionHours), so after
   * an outage the processor catches up on everything the stream still holds. A poison record is
   * still bounded: bisection and MaximumRetryAttempts send it to the DLQ.
   */
  processorMaximumRecordAgeSeconds: number;
  /**
   * Read warm throughput of the on-demand readings table and its index: 12,000, what a new
   * on-demand table has anyway (no pre-warming charge); writes are DynamoDBWarmWriteUnitsPerSecond.
   */
  warmReadUnitsPerSecond: number;
  /** Auto scaling ceiling for provisioned mode: DynamoDB's default per-table quota. */
  autoScalingMaxCapacity: number;
  /** 80%: the load is steady (every sensor, every second), so little headroom is idle. npm run plan sizes capacity with it. */
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

/** The declared default of every parameter that has one. */
const parameterDefaults = (): ParameterDefaults =>
  Object.fromEntries(
    Object.entries(PARAMETERS).flatMap(([key, spec]) => ('default' in spec ? [[key, spec.default]] : [])),
  ) as ParameterDefaults;

export const DEFAULTS: StackConfig = {
  project: 'TapStack',
  metricsNamespacePrefix: 'TapStack',
  parameters: parameterDefaults(),
  endToEndLatencyTargetMs: 10_000,
  alertLatencyTargetMs: 30_000,
  processorBudgetMs: 5_000,
  processorTimeoutSeconds: 60,
  processorBatchSize: 10_000,
  processorMaximumRetryAttempts: 5,
  processorMaximumRecordAgeSeconds: -1,
  warmReadUnitsPerSecond: 12_000,
  autoScalingMaxCapacity: 40_000,
  autoScalingTargetUtilizationPercent: 80,
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

/**
 * Checks a configuration once, before anything is built, and lists every problem in one error:
 * each parameter default against its declaration (template/parameters.ts), then the rules that tie
 * several together.
 * @throws ConfigError naming each field, the value received and what is allowed.
 */
export function validateConfig(config: StackConfig): StackConfig {
  const problems: string[] = [];
  const p = config.parameters;
  const defaults = p as Record<string, unknown>;
  for (const [key, spec] of Object.entries(PARAMETERS) as [string, ParameterSpec][]) {
    if (!(key in defaults)) continue;
    const value = defaults[key];
    if (spec.type === 'Number') {
      const n = value as number;
      if (spec.range && (!Number.isInteger(n) || n < spec.range.min || n > spec.range.max)) {
        problems.push(`${key}: got ${n}, expected an integer from ${spec.range.min} to ${spec.range.max}`);
      }
      if (spec.allowed && !spec.allowed.includes(n)) problems.push(`${key}: got ${n}, expected one of ${spec.allowed.join(', ')}`);
    } else {
      const text = String(value);
      if (spec.allowed && !spec.allowed.includes(text)) problems.push(`${key}: got '${text}', expected one of ${spec.allowed.join(', ')}`);
      if (spec.pattern && !new RegExp(spec.pattern).test(text)) problems.push(`${key}: got '${text}', expected ${spec.constraint.replace(/^must be /, '')}`);
    }
  }
  if (p.criticalThreshold <= p.warningThreshold) {
    problems.push(
      `criticalThreshold: got ${p.criticalThreshold}, expected above warningThreshold (${p.warningThreshold})`,
    );
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
