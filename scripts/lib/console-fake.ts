/**
 * The console API's tables in AWS in memory (tests/doubles/fake-aws.ts), keyed and indexed as the
 * template declares them, under the example names of scripts/lib/processor-env.ts (so
 * `consoleApiEnv()` points the API at them): for the console's benchmark and its unit tests.
 */
import { ALERT_STATE_TABLE, ALERT_ZONE_INDEX, READINGS_TABLE, SENSOR_STATUS_TABLE } from '../../contract';
import { FakeAws, type FakeAwsOptions } from '../../tests/doubles/fake-aws';
import { EXAMPLE_PHYSICAL_IDS } from './processor-env';

export const CONSOLE_FAKE_TABLES = {
  status: EXAMPLE_PHYSICAL_IDS.SensorStatusTable!,
  alertState: EXAMPLE_PHYSICAL_IDS.AlertStateTable!,
  readings: EXAMPLE_PHYSICAL_IDS.ReadingsTable!,
};

export function consoleFakeAws(options: Omit<FakeAwsOptions, 'tables'> = {}): FakeAws {
  return new FakeAws({
    ...options,
    tables: {
      [CONSOLE_FAKE_TABLES.status]: { hash: SENSOR_STATUS_TABLE.partitionKey },
      [CONSOLE_FAKE_TABLES.alertState]: {
        hash: ALERT_STATE_TABLE.partitionKey,
        indexes: {
          [ALERT_STATE_TABLE.elevatedIndexName]: { hash: ALERT_STATE_TABLE.elevatedBucketAttribute, range: ALERT_STATE_TABLE.partitionKey },
          [ALERT_ZONE_INDEX.name]: { hash: ALERT_ZONE_INDEX.partitionKey, range: ALERT_ZONE_INDEX.sortKey },
        },
      },
      [CONSOLE_FAKE_TABLES.readings]: { hash: READINGS_TABLE.partitionKey, range: READINGS_TABLE.sortKey },
    },
  });
}
