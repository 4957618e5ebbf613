import { ALERT_STATE_TABLE, READINGS_TABLE, SENSOR_STATUS_TABLE } from '../../contract';
import type { ProcessorConfig } from '../../handlers/processor/config';
import { processBatch } from '../../handlers/processor/handler';
import { processorSinks } from '../../handlers/processor/outputs';
import { FakeAws, type Fault, type TableSpec } from '../doubles/fake-aws';
import type { kinesisEvent } from './kinesis';
import { TEST_CONFIG } from './processor-config';

/** The processor's tables as the template keys and indexes them, under the config's names. */
export function processorTables(config: ProcessorConfig): Record<string, TableSpec> {
  return {
    [config.readingsTableName]: {
      hash: READINGS_TABLE.partitionKey,
      range: READINGS_TABLE.sortKey,
      indexes: { [READINGS_TABLE.zoneIndexName]: { hash: READINGS_TABLE.zoneIndexPartitionKey, range: READINGS_TABLE.sortKey } },
    },
    [config.alertStateTableName]: {
      hash: ALERT_STATE_TABLE.partitionKey,
      indexes: { [ALERT_STATE_TABLE.elevatedIndexName]: { hash: ALERT_STATE_TABLE.elevatedBucketAttribute, range: ALERT_STATE_TABLE.partitionKey } },
    },
    [config.sensorStatusTableName]: { hash: SENSOR_STATUS_TABLE.partitionKey },
  };
}

/** One processor container (TEST_CONFIG's sinks) against AWS in memory that answers as `fault` says. */
export function inMemoryContainer(fault: (operation: string, input: { TableName?: string }) => Fault = () => 'ok') {
  const aws = new FakeAws({ fault, tables: processorTables(TEST_CONFIG) });
  return { aws, sinks: processorSinks(TEST_CONFIG, aws.clients()) };
}

/** processBatch on that container, time moving only when it sleeps; its outcome and the processor's metrics document. */
export async function runBatch(sinks: ReturnType<typeof inMemoryContainer>['sinks'], event: ReturnType<typeof kinesisEvent>) {
  const emf: Record<string, unknown>[] = [];
  let now = Date.now();
  const outcome = await processBatch(event, { getRemainingTimeInMillis: () => 5_000 }, {
    config: TEST_CONFIG,
    sinks,
    now: () => now,
    sleep: async (ms) => void (now += ms),
    random: () => 0.5,
    write: (line) => emf.push(JSON.parse(line)),
  });
  return { outcome, service: emf.find((d) => d.Service === 'processor')! };
}
