/**
 * The processor's environment as the template sets it, with the stack's default parameter
 * values: for the benchmark, the tests and local runs. Only the resource names differ per use.
 */
import { DEFAULTS } from '../src/config';
import { ENV } from '../src/contract';

export interface ProcessorResources {
  tableName: string;
  alertStateTableName: string;
  eventBusName: string;
  quarantineQueueUrl: string;
  metricsNamespace: string;
}

export function processorEnv(resources: ProcessorResources, overrides: Record<string, string> = {}): Record<string, string> {
  const p = DEFAULTS.parameters;
  return {
    [ENV.tableName]: resources.tableName,
    [ENV.alertStateTableName]: resources.alertStateTableName,
    [ENV.eventBusName]: resources.eventBusName,
    [ENV.quarantineQueueUrl]: resources.quarantineQueueUrl,
    [ENV.metricsNamespace]: resources.metricsNamespace,
    [ENV.warningThreshold]: String(p.warningThreshold),
    [ENV.criticalThreshold]: String(p.criticalThreshold),
    [ENV.alertHysteresisPoints]: String(DEFAULTS.alertHysteresisPoints),
    [ENV.alertCooldownSeconds]: String(p.alertCooldownSeconds),
    [ENV.zoneIndexShards]: String(p.zoneIndexShards),
    [ENV.readingTtlDays]: String(p.readingRetentionDays),
    [ENV.streamRetentionHours]: String(p.streamRetentionHours),
    ...overrides,
  };
}

/** Placeholder resource names, for runs where AWS is faked. */
export const EXAMPLE_RESOURCES: ProcessorResources = {
  tableName: 'readings',
  alertStateTableName: 'alert-state',
  eventBusName: 'bus',
  quarantineQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/quarantine',
  metricsNamespace: 'TapStack/test',
};
