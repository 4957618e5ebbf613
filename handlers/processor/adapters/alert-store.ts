/**
 * The alert state in DynamoDB. Reads only the sensors that may transition; every change is a
 * conditional write on the item's version, so retries, replays and concurrent invocations can
 * never apply (and publish) the same transition twice.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ALERT_STATE_TABLE } from '../../../src/contract';
import { initialState, type AlertDetail, type AlertState } from '../core/alerts';
import { elevatedBucket } from '../core/hash';
import { LEVELS, type Level } from '../core/types';
import { call, chunk, isRetryable, mapPool, waitForRetry, type CallCounter, type IoContext } from './io';

/** DynamoDB BatchGetItem limit. */
export const MAX_BATCH_GET_KEYS = 100;

const PK = ALERT_STATE_TABLE.partitionKey;
const BUCKET = ALERT_STATE_TABLE.elevatedBucketAttribute;

/** Retries a single call (throttling, timeouts) until the deadline; rethrows anything else. */
async function retrying<T>(io: IoContext, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(io, fn);
    } catch (error) {
      if (!isRetryable(error) || !(await waitForRetry(io, attempt))) throw error;
    }
  }
}

/** Sensors listed in the sparse elevated index under the given buckets. */
export async function findElevated(
  client: DynamoDBClient,
  tableName: string,
  buckets: string[],
  io: IoContext,
  counter: CallCounter,
): Promise<Set<string>> {
  const found = new Set<string>();
  await mapPool(buckets, io.concurrency, async (bucket) => {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      counter.add('Query');
      const out = await retrying(io, (abortSignal) =>
        client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: ALERT_STATE_TABLE.elevatedIndexName,
            KeyConditionExpression: '#b = :b',
            ExpressionAttributeNames: { '#b': BUCKET },
            ExpressionAttributeValues: { ':b': { S: bucket } },
            ExclusiveStartKey: startKey,
          }),
          { abortSignal },
        ),
      );
      for (const item of out.Items ?? []) if (item[PK]?.S) found.add(item[PK].S);
      startKey = out.LastEvaluatedKey;
    } while (startKey);
  });
  return found;
}

export function stateFromItem(item: Record<string, AttributeValue>): AlertState {
  const level = (item.level?.S ?? 'NORMAL') as Level;
  const lastAlertAt: AlertState['lastAlertAt'] = {};
  for (const [k, v] of Object.entries(item.last_alert_at?.M ?? {})) {
    if ((LEVELS as readonly string[]).includes(k) && v.N) lastAlertAt[k as Level] = Number(v.N);
  }
  return {
    sensorId: item[PK]!.S!,
    level,
    version: Number(item.version?.N ?? 0),
    lastAlertAt,
    pending: item.pending?.S ? (JSON.parse(item.pending.S) as AlertDetail[]) : [],
  };
}

/** Consistent reads of the given sensors' states; a sensor with no item is NORMAL at version 0. */
export async function loadStates(
  client: DynamoDBClient,
  tableName: string,
  sensorIds: string[],
  io: IoContext,
  counter: CallCounter,
): Promise<Map<string, AlertState>> {
  const states = new Map(sensorIds.map((id) => [id, initialState(id)]));
  await mapPool(chunk(sensorIds, MAX_BATCH_GET_KEYS), io.concurrency, async (ids) => {
    let keys: Record<string, AttributeValue>[] = ids.map((id) => ({ [PK]: { S: id } }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      counter.add('BatchGetItem');
      const out = await retrying(io, (abortSignal) =>
        client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }), {
          abortSignal,
        }),
      );
      for (const item of out.Responses?.[tableName] ?? []) states.set(item[PK]!.S!, stateFromItem(item));
      keys = out.UnprocessedKeys?.[tableName]?.Keys ?? [];
      if (keys.length > 0 && !(await waitForRetry(io, attempt))) {
        throw Object.assign(new Error(`BatchGetItem left ${keys.length} keys unprocessed`), { name: 'UnprocessedKeys' });
      }
    }
  });
  return states;
}

export type CommitOutcome = 'committed' | 'conflict' | 'failed';

/** One UpdateItem guarded by its condition: a failed condition is a conflict, not an error. */
async function conditionalUpdate(
  client: DynamoDBClient,
  input: ConstructorParameters<typeof UpdateItemCommand>[0],
  io: IoContext,
  counter: CallCounter,
): Promise<CommitOutcome> {
  try {
    counter.add('UpdateItem');
    await retrying(io, (abortSignal) => client.send(new UpdateItemCommand(input), { abortSignal }));
    return 'committed';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') {
      return 'conflict';
    }
    return 'failed';
  }
}

/**
 * Writes `next` if the stored version is still `previous.version`. The item stays in the
 * elevated index while the sensor is above NORMAL or has alerts pending.
 */
export async function commitState(
  client: DynamoDBClient,
  tableName: string,
  previous: AlertState,
  next: AlertState,
  zoneId: string,
  updatedAt: string,
  io: IoContext,
  counter: CallCounter,
): Promise<CommitOutcome> {
  const elevated = next.level !== 'NORMAL' || next.pending.length > 0;
  const lastAlertAt: Record<string, AttributeValue> = Object.fromEntries(
    Object.entries(next.lastAlertAt).map(([level, ms]) => [level, { N: String(ms) }]),
  );
  const values: Record<string, AttributeValue> = {
    ':level': { S: next.level },
    ':next': { N: String(next.version) },
    ':zone': { S: zoneId },
    ':laa': { M: lastAlertAt },
    ':pending': { S: JSON.stringify(next.pending) },
    ':now': { S: updatedAt },
  };
  if (previous.version > 0) values[':current'] = { N: String(previous.version) };
  if (elevated) values[':bucket'] = { S: elevatedBucket(next.sensorId) };
  return conditionalUpdate(
    client,
    {
      TableName: tableName,
      Key: { [PK]: { S: next.sensorId } },
      UpdateExpression:
        'SET #level = :level, #version = :next, zone_id = :zone, last_alert_at = :laa, pending = :pending, updated_at = :now' +
        (elevated ? ', #bucket = :bucket' : ' REMOVE #bucket'),
      ConditionExpression: previous.version > 0 ? '#version = :current' : `attribute_not_exists(#pk)`,
      ExpressionAttributeNames: {
        '#level': 'level',
        '#version': 'version',
        '#bucket': BUCKET,
        ...(previous.version > 0 ? {} : { '#pk': PK }),
      },
      ExpressionAttributeValues: values,
    },
    io,
    counter,
  );
}

/** Marks a state's pending alerts as published (if nobody has moved the state on since). */
export async function clearPending(
  client: DynamoDBClient,
  tableName: string,
  state: AlertState,
  io: IoContext,
  counter: CallCounter,
): Promise<boolean> {
  const elevated = state.level !== 'NORMAL';
  const outcome = await conditionalUpdate(
    client,
    {
      TableName: tableName,
      Key: { [PK]: { S: state.sensorId } },
      UpdateExpression: 'SET pending = :empty' + (elevated ? '' : ' REMOVE #bucket'),
      ConditionExpression: '#version = :v',
      ExpressionAttributeNames: { '#version': 'version', ...(elevated ? {} : { '#bucket': BUCKET }) },
      ExpressionAttributeValues: { ':empty': { S: '[]' }, ':v': { N: String(state.version) } },
    },
    io,
    counter,
  );
  return outcome === 'committed';
}
