/**
 * The newest stored reading of a sensor, from the readings table: what the stale-alert guard
 * compares late readings with (the alert state itself is written on transitions only). One Query
 * per sensor, newest item first, one item; asked only for sensors whose readings were replayed.
 */
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { READINGS_TABLE } from '../../../contract';
import { mapPool, retrying } from './aws-calls';
import type { CallCounter, IoContext } from '../io';

/** Sensor → epoch ms of its newest stored reading (sensors with none are absent). */
export async function latestReadingTimes(
  client: DynamoDBClient,
  tableName: string,
  sensorIds: readonly string[],
  io: IoContext,
  counter: CallCounter,
): Promise<Map<string, number>> {
  const latest = new Map<string, number>();
  await mapPool([...sensorIds], io.concurrency, async (sensorId) => {
    counter.add('Query');
    const out = await retrying(io, 'Query', (abortSignal) =>
      client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: '#pk = :id',
          ExpressionAttributeNames: { '#pk': READINGS_TABLE.partitionKey, '#last': READINGS_TABLE.lastReadingAttribute },
          ExpressionAttributeValues: { ':id': { S: sensorId } },
          ProjectionExpression: '#last',
          ScanIndexForward: false,
          Limit: 1,
        }),
        { abortSignal },
      ),
    );
    const last = out.Items?.[0]?.[READINGS_TABLE.lastReadingAttribute]?.S;
    if (last) latest.set(sensorId, Date.parse(last));
  });
  return latest;
}
