/**
 * The console's sensor-status items: one UpdateItem per write, each SETting only its own sensors'
 * attributes, so writers of the same item (the lanes of a shard, overlapping deliveries) never
 * undo each other. Last writer wins: a retried batch may show a sensor's previous reading until
 * its next batch, seconds later. Nothing here fails a batch: the status is a view, rewritten by
 * every batch; a write given up on is logged and counted.
 */
import { UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SENSOR_STATUS_TABLE } from '../../../contract';
import { MAX_SENSORS_PER_STATUS_WRITE, type StatusWrite } from '../core/status';
import { errorDetail } from '../log';
import { mapPool, retrying } from './aws-calls';
import type { CallCounter, IoContext } from '../io';

/** The names, values and SET clauses of a write's n-th sensor, made once. */
const NAME_KEYS = Array.from({ length: MAX_SENSORS_PER_STATUS_WRITE }, (_, i) => `#s${i}`);
const VALUE_KEYS = Array.from({ length: MAX_SENSORS_PER_STATUS_WRITE }, (_, i) => `:s${i}`);
/** `SET #u = :u, #s0 = :s0, …` for a write of n sensors, by n. */
const UPDATE_EXPRESSIONS = Array.from({ length: MAX_SENSORS_PER_STATUS_WRITE + 1 }, (_, n) =>
  `SET ${['#u = :u', ...NAME_KEYS.slice(0, n).map((name, i) => `${name} = ${VALUE_KEYS[i]}`)].join(', ')}`,
);
/** One status write as an UpdateItem request. */
export function statusUpdate(tableName: string, write: StatusWrite, nowMs: number) {
  const count = write.sensors.length;
  if (count > MAX_SENSORS_PER_STATUS_WRITE) throw new RangeError(`a status write holds at most ${MAX_SENSORS_PER_STATUS_WRITE} sensors, got ${count}`);
  const names: Record<string, string> = { '#u': SENSOR_STATUS_TABLE.updatedAt };
  const values: Record<string, AttributeValue> = { ':u': { N: String(nowMs) } };
  for (let i = 0; i < count; i++) {
    const [sensorId, value] = write.sensors[i]!;
    names[NAME_KEYS[i]!] = sensorId;
    values[VALUE_KEYS[i]!] = { S: value };
  }
  return {
    TableName: tableName,
    Key: { [SENSOR_STATUS_TABLE.partitionKey]: { S: write.bucket } },
    UpdateExpression: UPDATE_EXPRESSIONS[count]!,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** Writes every status write (several in flight); answers how many were given up on. */
export async function writeSensorStatus(
  client: DynamoDBClient,
  tableName: string,
  writes: readonly StatusWrite[],
  io: IoContext,
  counter: CallCounter,
): Promise<{ failed: number }> {
  let failed = 0;
  await mapPool([...writes], io.concurrency, async (write) => {
    try {
      counter.add('UpdateItem');
      await retrying(io, 'UpdateItem', (abortSignal) => client.send(new UpdateItemCommand(statusUpdate(tableName, write, io.now())), { abortSignal }));
    } catch (error) {
      failed++;
      io.log('WARN', 'Sensor status not written (the next batch writes it again)', { bucket: write.bucket, sensors: write.sensors.length, ...errorDetail(error) });
    }
  });
  return { failed };
}
