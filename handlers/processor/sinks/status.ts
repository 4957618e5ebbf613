/**
 * The console's sink: each sensor's latest reading of the batch into the sensor-status items the
 * controllers' console reads (a city in a few hundred items instead of a read per sensor). It never
 * asks for a record to be retried: the status is rewritten by the sensor's next batch.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { writeSensorStatus } from '../adapters/sensor-status';
import { statusWrites } from '../core/status';
import type { Sink } from './sink';

export function statusSink(client: DynamoDBClient, config: { sensorStatusTableName: string; sensorStatusItems: number }): Sink {
  return async (batch, { io, counter }) => {
    const writes = statusWrites(batch.sensors, config.sensorStatusItems);
    if (writes.length === 0) return { failedRecords: [] };
    const { failed } = await writeSensorStatus(client, config.sensorStatusTableName, writes, io, counter);
    return { failedRecords: [], counts: { statusWriteFailures: failed } };
  };
}
