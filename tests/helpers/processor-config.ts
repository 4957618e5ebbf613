/** A processor configuration for unit tests, read through the same code as in Lambda. */
import { readConfig, type ProcessorConfig } from '../../handlers/processor/config';
import { ENV } from '../../src/contract';

export const TEST_CONFIG: ProcessorConfig = readConfig({
  [ENV.tableName]: 'readings',
  [ENV.alertStateTableName]: 'alert-state',
  [ENV.eventBusName]: 'bus',
  [ENV.quarantineQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/123456789012/quarantine',
  [ENV.metricsNamespace]: 'TapStack/test',
  [ENV.warningThreshold]: '80',
  [ENV.criticalThreshold]: '90',
  [ENV.alertHysteresisPoints]: '5',
  [ENV.alertCooldownSeconds]: '300',
  [ENV.zoneIndexShards]: '10',
  [ENV.readingTtlDays]: '7',
  [ENV.streamRetentionHours]: '24',
});
