/**
 * The alert state in DynamoDB (the persistence layer of the alert sink; the state machine itself
 * is pure, in core/alerts.ts). It owns the table's layout: the item's attributes, the sparse
 * elevated index and its bucket scheme. Reads only the sensors that may transition; every change
 * is a conditional write on the item's version, so retries, replays and concurrent invocations
 * can never apply (and publish) the same transition twice. A batch's changes go out together, 100
 * per call (adapters/conditional-writes.ts).
 */
import { QueryCommand, ScanCommand, type AttributeValue, type DynamoDBClient, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { ALERT_STATE_TABLE } from '../../../contract';
import { initialState, type AlertDetail, type AlertState, type PendingAlert } from '../core/alerts';
import { elevatedBucket } from '../core/hash';
import { LEVELS, type Level } from '../core/types';
import { allItems, batchGetAll, mapPool } from './aws-calls';
import type { CallCounter, IoContext } from '../io';
import { writeConditionally } from './conditional-writes';

/**
 * A batch whose sensors fall in more buckets than this (a stream of few shards: one shard's
 * sensors span the whole hash space) reads the sparse index whole, in parallel segments, rather
 * than querying bucket by bucket: the index holds only elevated sensors, so it is small exactly
 * when a deployment is.
 */
export const MAX_BUCKET_QUERIES = 16;
export const SCAN_SEGMENTS = 4;

const PK = ALERT_STATE_TABLE.partitionKey;
const BUCKET = ALERT_STATE_TABLE.elevatedBucketAttribute;


/** An alert-state item as the state machine's AlertState (absent attributes take their initial values). */
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
    pending: item.pending?.S ? (JSON.parse(item.pending.S) as (PendingAlert | AlertDetail)[]).map(pendingAlert) : [],
    lastReadingMs: Number(item.last_reading_ms?.N ?? 0),
  };
}

/** An outbox entry; an entry written before claims existed (a bare alert) is unclaimed. */
const pendingAlert = (p: PendingAlert | AlertDetail): PendingAlert => ('alert' in p ? p : { alert: p, owner: '', until: 0 });

export interface AlertStoreDeps {
  client: DynamoDBClient;
  tableName: string;
  io: IoContext;
  counter: CallCounter;
}

/** The alert-state table, for one invocation. */
export class AlertStore {
  constructor(private readonly deps: AlertStoreDeps) {}

  /**
   * The states of the sensors that may transition: those listed in the elevated index under the
   * given sensors' buckets, and those `mayEscalate` picks (by position). A sensor with no item is NORMAL at
   * version 0. Throws when the state cannot be read in time (the caller retries the batch).
   */
  async load(sensorIds: readonly string[], mayEscalate: (index: number) => boolean): Promise<Map<string, AlertState>> {
    const buckets = new Set<string>();
    for (let i = 0; i < sensorIds.length; i++) buckets.add(elevatedBucket(sensorIds[i]!));
    // The sensors that may escalate are read while the index is: only the elevated ones among the
    // rest wait for it (one round trip fewer on the alert path, whose steps follow one another).
    const escalating: string[] = [];
    const others: string[] = [];
    for (let i = 0; i < sensorIds.length; i++) (mayEscalate(i) ? escalating : others).push(sensorIds[i]!);
    const [elevated, states] = await Promise.all([this.findElevated([...buckets]), this.read(escalating)]);
    const rest = others.filter((id) => elevated.has(id));
    if (rest.length > 0) for (const [id, state] of await this.read(rest)) states.set(id, state);
    return states;
  }

  /** Sensors listed in the sparse elevated index under the given buckets. */
  private async findElevated(buckets: string[]): Promise<Set<string>> {
    if (buckets.length > MAX_BUCKET_QUERIES) return this.scanElevated();
    const { client, tableName, io, counter } = this.deps;
    const found = new Set<string>();
    await mapPool(buckets, io.concurrency, async (bucket) => {
      const items = await allItems(io, counter, 'Query', (startKey, abortSignal) =>
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
      for (const item of items) if (item[PK]?.S) found.add(item[PK].S);
    });
    return found;
  }

  /** Every sensor of the sparse elevated index, read in parallel segments. */
  private async scanElevated(): Promise<Set<string>> {
    const { client, tableName, io, counter } = this.deps;
    const found = new Set<string>();
    await mapPool(
      Array.from({ length: SCAN_SEGMENTS }, (_, i) => i),
      io.concurrency,
      async (segment) => {
        const items = await allItems(io, counter, 'Scan', (startKey, abortSignal) =>
          client.send(
            new ScanCommand({
              TableName: tableName,
              IndexName: ALERT_STATE_TABLE.elevatedIndexName,
              Segment: segment,
              TotalSegments: SCAN_SEGMENTS,
              ExclusiveStartKey: startKey,
            }),
            { abortSignal },
          ),
        );
        for (const item of items) if (item[PK]?.S) found.add(item[PK].S);
      },
    );
    return found;
  }

  /** Consistent reads of the given sensors' states. */
  private async read(sensorIds: string[]): Promise<Map<string, AlertState>> {
    const { client, tableName, io, counter } = this.deps;
    const states = new Map(sensorIds.map((id) => [id, initialState(id)]));
    const items = await batchGetAll(client, tableName, sensorIds.map((id) => ({ [PK]: { S: id } })), io, counter, { consistentRead: true });
    for (const item of items) states.set(item[PK]!.S!, stateFromItem(item));
    return states;
  }

  /**
   * Writes each change if the stored version is still the one it was decided on (every change goes
   * through here: transitions, claims, and the outbox after publishing). A change whose condition
   * fails is decided again by its `redo` on what was written instead (the item the condition failed
   * on), up to `maxConflicts` times. Answers, per sensor, the state that stands (written, or left as
   * it was when `redo` had nothing to change), or undefined when it could not be written.
   */
  async writeAll(changes: readonly StateChange[], maxConflicts: number): Promise<Map<string, AlertState | undefined>> {
    const { client, tableName, io, counter } = this.deps;
    const result = new Map<string, AlertState | undefined>();
    let pending = changes.map((change) => ({ change, current: change.state }));
    for (let round = 0; pending.length > 0; round++) {
      const writes: { entry: (typeof pending)[number]; next: AlertState }[] = [];
      for (const entry of pending) {
        const next = entry.change.redo(entry.current);
        if (!next) result.set(entry.change.sensorId, entry.current);
        else if (round > maxConflicts) {
          io.log('ERROR', 'Alert state: too many concurrent writers', { sensor_id: entry.change.sensorId });
          result.set(entry.change.sensorId, undefined);
        } else writes.push({ entry, next });
      }
      const outcomes = await writeConditionally(
        client,
        writes.map(({ entry, next }) => stateWrite(tableName, entry.current, next, entry.change.zoneId, entry.change.updatedAt)),
        io,
        counter,
      );
      pending = [];
      writes.forEach(({ entry, next }, i) => {
        const outcome = outcomes[i]!;
        if (outcome.kind === 'written') result.set(entry.change.sensorId, next);
        else if (outcome.kind === 'failed') result.set(entry.change.sensorId, undefined);
        else {
          io.log('WARN', 'Alert state changed concurrently: deciding again on what was written', { sensor_id: entry.change.sensorId });
          entry.current = outcome.item ? stateFromItem(outcome.item) : initialState(entry.change.sensorId);
          pending.push(entry);
        }
      });
    }
    return result;
  }
}

/** A change of one sensor's state: decided on `state`, decided again by `redo` on what another writer wrote. */
export interface StateChange {
  sensorId: string;
  zoneId: string;
  /** ISO-8601, the time the change was decided. */
  updatedAt: string;
  state: AlertState;
  /** The state to write over `stored`, or undefined when there is nothing to change. */
  redo: (stored: AlertState) => AlertState | undefined;
}

/**
 * The write of `next` over `previous`: the processor's attributes of the state item, updated if the
 * stored version is still `previous.version` (or there is no item, at version 0). An Update, not a
 * whole-item Put: the console's acknowledgement (contract/console.ts ACK_ATTRIBUTES) lives on the
 * same item and is written without touching `version`, so a Put would erase an acknowledgement made
 * between the read and this write. The item stays in the elevated index while the sensor is above
 * NORMAL or has alerts pending.
 */
export function stateWrite(tableName: string, previous: AlertState, next: AlertState, zoneId: string, updatedAt: string): TransactWriteItem {
  const lastAlertAt: Record<string, AttributeValue> = {};
  for (const [level, ms] of Object.entries(next.lastAlertAt)) lastAlertAt[level] = { N: String(ms) };
  const elevated = next.level !== 'NORMAL' || next.pending.length > 0;
  const values: Record<string, AttributeValue> = {
    ':level': { S: next.level },
    ':next': { N: String(next.version) },
    ':zone': { S: zoneId },
    ':laa': { M: lastAlertAt },
    ':pending': { S: JSON.stringify(next.pending) },
    ':lastReading': { N: String(next.lastReadingMs) },
    ':now': { S: updatedAt },
  };
  if (elevated) values[':bucket'] = { S: elevatedBucket(next.sensorId) };
  if (previous.version > 0) values[':current'] = { N: String(previous.version) };
  return {
    Update: {
      TableName: tableName,
      Key: { [PK]: { S: next.sensorId } },
      UpdateExpression:
        'SET #level = :level, #version = :next, zone_id = :zone, last_alert_at = :laa, pending = :pending, ' +
        'last_reading_ms = :lastReading, updated_at = :now' +
        (elevated ? ', #bucket = :bucket' : ' REMOVE #bucket'),
      ConditionExpression: previous.version > 0 ? '#version = :current' : 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#level': 'level', '#version': 'version', '#bucket': BUCKET, ...(previous.version > 0 ? {} : { '#pk': PK }) },
      ExpressionAttributeValues: values,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}
