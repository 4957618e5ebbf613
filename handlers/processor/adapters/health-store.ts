/**
 * The silent-sensor detector's AWS calls: the health table (Scan, conditional UpdateItem, first
 * sightings 100 to a TransactWriteItems), the zone
 * index of the readings table (which sensors have a rollup window in the lookback), the zones (thing
 * groups of the registry) and the health events (PutEvents). Each takes its client.
 */
import { QueryCommand, ScanCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ListThingGroupsCommand, type IoTClient } from '@aws-sdk/client-iot';
import { HEALTH_TABLE, READINGS_TABLE, SENSOR_HEALTH_EVENT, type HealthState } from '../../../contract';
import { detailTypeOf, type HealthEvent, type HealthItem } from '../core/health';
import { allItems, mapPool, retrying, type Item } from './aws-calls';
import { conditionalWrite, writeConditionally, type WriteOutcome } from './conditional-writes';
import { publishEvents, type EventKind } from './events';
import type { CallCounter, IoContext } from '../io';

const H = HEALTH_TABLE;
const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });

/** Segments of the health table's Scan, read in parallel (50,000 items of ~150 bytes: ~8 pages of 1 MB). */
export const HEALTH_SCAN_SEGMENTS = 4;

function toHealthItem(item: Item): HealthItem {
  const num = (name: string) => (item[name]?.N !== undefined ? Number(item[name]!.N) : undefined);
  const str = (name: string) => item[name]?.S;
  return {
    sensorId: str(H.partitionKey)!,
    zoneId: str(H.zone) ?? '',
    state: (str(H.state) as HealthState | undefined) ?? 'REPORTING',
    version: num(H.version) ?? 0,
    changedAt: num(H.changedAt) ?? 0,
    ...(str(H.lastSeenAt) !== undefined ? { lastSeenAt: str(H.lastSeenAt) } : {}),
    ...(str(H.pendingEvent) !== undefined ? { pendingEvent: str(H.pendingEvent) } : {}),
    ...(str(H.claimedBy) !== undefined ? { claimedBy: str(H.claimedBy) } : {}),
    ...(num(H.claimUntil) !== undefined ? { claimUntil: num(H.claimUntil) } : {}),
    ...(num(H.ttl) !== undefined ? { expiresAt: num(H.ttl) } : {}),
  };
}

/** Every health item (the expected sensors), in parallel segments. */
export async function scanHealth(client: DynamoDBClient, tableName: string, io: IoContext, counter: CallCounter): Promise<HealthItem[]> {
  const segments = Array.from({ length: HEALTH_SCAN_SEGMENTS }, (_, i) => i);
  const pages = await mapPool(segments, HEALTH_SCAN_SEGMENTS, async (segment) => {
    const items = await allItems(io, counter, 'Scan', (start, abortSignal) =>
      client.send(new ScanCommand({ TableName: tableName, Segment: segment, TotalSegments: HEALTH_SCAN_SEGMENTS, ExclusiveStartKey: start }), { abortSignal }),
    );
    return items.map(toHealthItem);
  });
  // Segments are disjoint in DynamoDB; an emulator that ignores them must not double a sensor.
  return [...new Map(pages.flat().map((item) => [item.sensorId, item])).values()];
}

/**
 * The (sensor, window start, zone) keys of every rollup window starting at or after `sinceMs`, from
 * the zone index: one Query per zone and write shard (zone_id#n), keys only, paginated.
 */
export async function recentWindowKeys(
  client: DynamoDBClient,
  tableName: string,
  zones: readonly string[],
  zoneIndexShards: number,
  sinceMs: number,
  io: IoContext,
  counter: CallCounter,
): Promise<{ sensorId: string; zoneId: string; windowStartMs: number }[]> {
  const partitions = zones.flatMap((zoneId) => Array.from({ length: zoneIndexShards }, (_, shard) => ({ zoneId, key: `${zoneId}#${shard}` })));
  const since = new Date(sinceMs).toISOString();
  const results = await mapPool(partitions, io.concurrency, async ({ zoneId, key }) => {
    const items = await allItems(io, counter, 'Query', (start, abortSignal) =>
      client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: READINGS_TABLE.zoneIndexName,
          KeyConditionExpression: '#zs = :zs AND #ts >= :since',
          ExpressionAttributeNames: { '#zs': READINGS_TABLE.zoneIndexPartitionKey, '#ts': READINGS_TABLE.sortKey, '#id': READINGS_TABLE.partitionKey },
          ExpressionAttributeValues: { ':zs': s(key), ':since': s(since) },
          ProjectionExpression: '#id, #ts',
          ExclusiveStartKey: start,
        }),
        { abortSignal },
      ),
    );
    return items.map((item) => ({ sensorId: item[READINGS_TABLE.partitionKey]!.S!, zoneId, windowStartMs: Date.parse(item[READINGS_TABLE.sortKey]!.S!) }));
  });
  return results.flat();
}

/** The zones: the names of the thing groups under the zone parent group (none if it does not exist). */
export async function registryZones(iot: IoTClient, parentGroup: string, io: IoContext, counter: CallCounter): Promise<string[]> {
  const zones: string[] = [];
  let nextToken: string | undefined;
  try {
    do {
      counter.add('ListThingGroups');
      const out = await retrying(io, 'ListThingGroups', (abortSignal) =>
        iot.send(new ListThingGroupsCommand({ parentGroup, recursive: false, maxResults: 250, nextToken }), { abortSignal }),
      );
      for (const g of out.thingGroups ?? []) if (g.groupName) zones.push(g.groupName);
      nextToken = out.nextToken;
    } while (nextToken);
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return zones;
    throw error;
  }
  return zones;
}

/** An UpdateItem on one sensor's health item; false when its condition failed (another run got there first). */
async function update(
  client: DynamoDBClient,
  tableName: string,
  sensorId: string,
  request: { update: string; condition: string; names: Record<string, string>; values?: Item },
  io: IoContext,
  counter: CallCounter,
): Promise<boolean> {
  const outcome = await conditionalWrite(io, counter, 'UpdateItem', (abortSignal) =>
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [H.partitionKey]: s(sensorId) },
        UpdateExpression: request.update,
        ConditionExpression: request.condition,
        ExpressionAttributeNames: request.names,
        ...(request.values ? { ExpressionAttributeValues: request.values } : {}),
      }),
      { abortSignal },
    ),
  );
  return outcome.kind === 'written';
}

/** The health table's writes. Every one is conditioned, so overlapping runs and retries change an item once. */
export function healthWriter(client: DynamoDBClient, tableName: string, io: IoContext, counter: CallCounter) {
  const names = {
    '#id': H.partitionKey,
    '#zone': H.zone,
    '#state': H.state,
    '#v': H.version,
    '#changed': H.changedAt,
    '#pending': H.pendingEvent,
    '#by': H.claimedBy,
    '#until': H.claimUntil,
  };
  const insertNames = { '#id': names['#id'], '#zone': names['#zone'], '#state': names['#state'], '#v': names['#v'], '#changed': names['#changed'] };
  return {
    /**
     * First sightings: each REPORTING, version 1, unless another run inserted it; one outcome per
     * sighting, in order. A new fleet (or the first run after a deploy) sights every sensor at once:
     * 100 conditional updates to a TransactWriteItems (conditional-writes.ts) instead of one
     * UpdateItem each (50,000 sensors: 500 calls, not 50,000). Each is conditioned on its own item,
     * and a cancelled transaction's other writes go out again, so one sensor inserted by an
     * overlapping run holds back none of the others. Twice the write units of an UpdateItem, once
     * in a sensor's life.
     */
    insertAll: (sightings: readonly { sensorId: string; zoneId: string }[], nowMs: number): Promise<WriteOutcome[]> =>
      writeConditionally(
        client,
        sightings.map(
          (sighting): TransactWriteItem => ({
            Update: {
              TableName: tableName,
              Key: { [H.partitionKey]: s(sighting.sensorId) },
              UpdateExpression: 'SET #zone = :zone, #state = :state, #v = :one, #changed = :now',
              ConditionExpression: 'attribute_not_exists(#id)',
              ExpressionAttributeNames: insertNames,
              ExpressionAttributeValues: { ':zone': s(sighting.zoneId), ':state': s('REPORTING'), ':one': n(1), ':now': n(nowMs) },
            },
          }),
        ),
        io,
        counter,
      ),
    /**
     * A transition from the version read, with its event in the outbox claimed by this run. A silence
     * sets the TTL after which the sensor is forgotten; a recovery clears it.
     */
    transition: (
      item: HealthItem,
      to: HealthState,
      zoneId: string,
      event: HealthEvent,
      claim: { runId: string; untilMs: number; nowMs: number },
      forgetAtSeconds: number,
    ) =>
      update(
        client,
        tableName,
        item.sensorId,
        {
          update:
            'SET #state = :to, #v = :next, #changed = :now, #zone = :zone, #pending = :event, #by = :run, #until = :until' +
            (to === 'SILENT' ? ', #ttl = :forget' + (event.last_seen_at ? ', #seen = :seen' : '') : ' REMOVE #ttl'),
          condition: '#v = :v AND attribute_not_exists(#pending)',
          names: {
            '#state': names['#state'],
            '#v': names['#v'],
            '#changed': names['#changed'],
            '#zone': names['#zone'],
            '#pending': names['#pending'],
            '#by': names['#by'],
            '#until': names['#until'],
            '#ttl': H.ttl,
            ...(to === 'SILENT' && event.last_seen_at ? { '#seen': H.lastSeenAt } : {}),
          },
          values: {
            ':to': s(to),
            ':next': n(item.version + 1),
            ':v': n(item.version),
            ':now': n(claim.nowMs),
            ':zone': s(zoneId),
            ':event': s(JSON.stringify(event)),
            ':run': s(claim.runId),
            ':until': n(claim.untilMs),
            ...(to === 'SILENT' ? { ':forget': n(forgetAtSeconds) } : {}),
            ...(to === 'SILENT' && event.last_seen_at ? { ':seen': s(event.last_seen_at) } : {}),
          },
        },
        io,
        counter,
      ),
    /** The sensor reports in another zone now: follow it (no event). */
    rezone: (item: HealthItem, zoneId: string) =>
      update(
        client,
        tableName,
        item.sensorId,
        {
          update: 'SET #zone = :zone',
          condition: '#v = :v AND attribute_not_exists(#pending)',
          names: { '#zone': names['#zone'], '#v': names['#v'], '#pending': names['#pending'] },
          values: { ':zone': s(zoneId), ':v': n(item.version) },
        },
        io,
        counter,
      ),
    /** Takes over a pending event whose claim lapsed (its publisher died or gave up). */
    claim: (item: HealthItem, claim: { runId: string; untilMs: number; nowMs: number }) =>
      update(
        client,
        tableName,
        item.sensorId,
        {
          update: 'SET #by = :run, #until = :until',
          condition: '#v = :v AND #pending = :event AND (attribute_not_exists(#until) OR #until <= :now)',
          names: { '#by': names['#by'], '#until': names['#until'], '#v': names['#v'], '#pending': names['#pending'] },
          values: { ':run': s(claim.runId), ':until': n(claim.untilMs), ':now': n(claim.nowMs), ':v': n(item.version), ':event': s(item.pendingEvent!) },
        },
        io,
        counter,
      ),
    /** The event went out: empty the outbox (only if this run still holds the claim on this event). */
    clear: (sensorId: string, eventJson: string, runId: string) =>
      update(
        client,
        tableName,
        sensorId,
        {
          update: 'REMOVE #pending, #by, #until',
          condition: '#pending = :event AND #by = :run',
          names: { '#pending': names['#pending'], '#by': names['#by'], '#until': names['#until'] },
          values: { ':event': s(eventJson), ':run': s(runId) },
        },
        io,
        counter,
      ),
    /** EventBridge did not take the event: let the next run claim it at once. */
    release: (sensorId: string, eventJson: string, runId: string) =>
      update(
        client,
        tableName,
        sensorId,
        {
          update: 'SET #until = :zero',
          condition: '#pending = :event AND #by = :run',
          names: { '#pending': names['#pending'], '#by': names['#by'], '#until': names['#until'] },
          values: { ':event': s(eventJson), ':run': s(runId), ':zero': n(0) },
        },
        io,
        counter,
      ),
  };
}
export type HealthWriter = ReturnType<typeof healthWriter>;

const HEALTH_EVENTS: EventKind<HealthEvent> = {
  noun: 'health events',
  idsField: 'event_ids',
  id: (event) => event.event_id,
  source: SENSOR_HEALTH_EVENT.source,
  detailType: detailTypeOf,
  time: (event) => new Date(event.detected_at),
};

/** Health events → the bus, through the one EventBridge publisher (events.ts); answers the events EventBridge did not take. */
export async function publishHealthEvents(
  client: EventBridgeClient,
  eventBusName: string,
  events: HealthEvent[],
  io: IoContext,
  counter: CallCounter,
): Promise<HealthEvent[]> {
  return (await publishEvents(client, eventBusName, HEALTH_EVENTS, events, io, counter)).failed;
}
