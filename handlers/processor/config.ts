/** The processor's configuration, read once from the environment the template sets. */
import { ENV } from '../../src/contract';
import type { Thresholds } from './core/types';

export interface ProcessorConfig {
  tableName: string;
  alertStateTableName: string;
  eventBusName: string;
  quarantineQueueUrl: string;
  metricsNamespace: string;
  thresholds: Thresholds;
  cooldownMs: number;
  zoneIndexShards: number;
  ttlDays: number;
  streamRetentionHours: number;
}

export class ProcessorConfigError extends Error {
  override name = 'ProcessorConfigError';
}

/** Reads and checks every variable; one error lists every problem. */
export function readConfig(env: Record<string, string | undefined>): ProcessorConfig {
  const problems: string[] = [];
  const text = (name: string) => {
    const value = env[name];
    if (!value) problems.push(`${name} is not set`);
    return value ?? '';
  };
  const number = (name: string, min: number, max: number) => {
    const raw = env[name];
    const value = Number(raw);
    if (raw === undefined || raw === '' || !Number.isFinite(value) || value < min || value > max) {
      problems.push(`${name}: got ${raw === undefined ? 'nothing' : `"${raw}"`}, expected a number from ${min} to ${max}`);
    }
    return value;
  };
  const config: ProcessorConfig = {
    tableName: text(ENV.tableName),
    alertStateTableName: text(ENV.alertStateTableName),
    eventBusName: text(ENV.eventBusName),
    quarantineQueueUrl: text(ENV.quarantineQueueUrl),
    metricsNamespace: text(ENV.metricsNamespace),
    thresholds: {
      warning: number(ENV.warningThreshold, 0, 100),
      critical: number(ENV.criticalThreshold, 0, 100),
      hysteresis: number(ENV.alertHysteresisPoints, 0, 100),
    },
    cooldownMs: number(ENV.alertCooldownSeconds, 0, 86_400) * 1000,
    zoneIndexShards: number(ENV.zoneIndexShards, 1, 100),
    ttlDays: number(ENV.readingTtlDays, 1, 3650),
    streamRetentionHours: number(ENV.streamRetentionHours, 24, 8760),
  };
  if (config.thresholds.critical <= config.thresholds.warning) {
    problems.push(`${ENV.criticalThreshold} (${config.thresholds.critical}) must be above ${ENV.warningThreshold} (${config.thresholds.warning})`);
  }
  if (problems.length > 0) throw new ProcessorConfigError(`Invalid processor configuration: ${problems.join('; ')}`);
  return config;
}
