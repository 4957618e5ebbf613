/**
 * The console API's AWS calls, each taking its client: the sensor-status items (one Scan of the
 * city), the alert state (the sparse elevated index, then the items; a zone's recent changes from
 * the zone index), a sensor's rollups, the acknowledgement (the only write), the sensors'
 * positions (the IoT registry) and a zone's trend (the processor's per-zone metrics). Every read
 * counts the read units it costs: DynamoDB's own figure when it returns one, else the documented
 * rounding of the items' sizes (adapters/item-size.ts).
 */
import { GetMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  GetItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type ConsumedCapacity,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ListThingsCommand, type IoTClient } from '@aws-sdk/client-iot';
import {
  ACK_ATTRIBUTES,
  ALERT_STATE_ATTRIBUTES,
  ALERT_STATE_TABLE,
  ALERT_ZONE_INDEX,
  decodeSensorStatus,
  METRIC,
  METRIC_DIMENSION,
  READINGS_TABLE,
  SENSOR_STATUS_TABLE,
  SERVICE_NAME,
  type SensorStatus,
  windowMean,
} from '../../../contract';
import type { AlertState } from '../console/views';
import { LEVELS, type Level } from '../core/types';
import { allItems, batchGetAll, mapPool, retrying, type Item } from './aws-calls';
import { conditionalWrite } from './conditional-writes';
import type { CallCounter, IoContext } from '../io';
import { itemReadUnits, pageReadUnits } from './item-size';


/**
 * At most this many parallel segments per Scan (256 status items of ~10 KB, 50,000 sensors, are 3
 * pages of 1 MB). A scan that fit in one page last time is read in one segment: a small city makes
 * one call, not four.
 */
export const MAX_SCAN_SEGMENTS = 4;
const lastPages = new Map<string, number>();

/** Every item of a table or index, in as many parallel segments as its last read took pages (at most MAX_SCAN_SEGMENTS). */
async function scanAll(client: DynamoDBClient, tableName: string, indexName: string | undefined, io: IoContext, counter: CallCounter, meter: ReadMeter): Promise<Item[]> {
  const key = `${tableName}/${indexName ?? ''}`;
  const segments = Math.min(MAX_SCAN_SEGMENTS, lastPages.get(key) ?? 1);
  let pagesRead = 0;
  const results = await mapPool(
    Array.from({ length: segments }, (_, i) => i),
    segments,
    (segment) =>
      pages(io, counter, meter, 'Scan', false, (start, abortSignal) => {
        pagesRead++;
        return client.send(
          new ScanCommand({
            TableName: tableName,
            ...(indexName ? { IndexName: indexName } : {}),
            ...(segments > 1 ? { Segment: segment, TotalSegments: segments } : {}),
            ExclusiveStartKey: start,
            ReturnConsumedCapacity: 'TOTAL',
          }),
          { abortSignal },
        );
      }),
  );
  lastPages.set(key, pagesRead);
  return results.flat();
}
/** A zone's recent alert changes: this many at most per zone (newest first). */
export const RECENT_PER_ZONE = 25;

/** Read units and calls of one request, for the logs and the benchmark. */
export class ReadMeter {
  readUnits = 0;
  /** Of readUnits, those DynamoDB reported (ConsumedCapacity); the rest are estimates from item sizes. */
  reportedUnits = 0;
  add(consumed: ConsumedCapacity | undefined, estimate: number): void {
    const reported = consumed?.CapacityUnits;
    this.readUnits += reported ?? estimate;
    if (reported !== undefined) this.reportedUnits += reported;
  }
}

/** Every page of a Query or Scan, counting its read units. */
const pages = (
  io: IoContext,
  counter: CallCounter,
  meter: ReadMeter,
  operation: 'Query' | 'Scan',
  consistent: boolean,
  page: (startKey: Item | undefined, abortSignal: AbortSignal) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item; ConsumedCapacity?: ConsumedCapacity }>,
): Promise<Item[]> => allItems(io, counter, operation, page, (out) => meter.add(out.ConsumedCapacity, pageReadUnits(out.Items ?? [], consistent)));

/** Every sensor's status in the table (a sensor in two items is given twice; the core keeps the newest). */
/**
 * Decodes status items, remembering each item's sensors by the item's `_updated_at`: an item no
 * batch wrote since the last read is not decoded again. It yields to the event loop between items,
 * so a container answering from its cache is never held up for the whole city.
 */
export class StatusDecoder {
  private known = new Map<string, { updatedAt: string; statuses: SensorStatus[] }>();

  async decode(items: readonly Item[]): Promise<SensorStatus[]> {
    const next = new Map<string, { updatedAt: string; statuses: SensorStatus[] }>();
    let decoded = 0;
    for (const item of items) {
      const bucket = item[SENSOR_STATUS_TABLE.partitionKey]?.S;
      if (bucket === undefined || next.has(bucket)) continue;
      const updatedAt = item[SENSOR_STATUS_TABLE.updatedAt]?.N ?? '';
      const previous = this.known.get(bucket);
      if (previous && previous.updatedAt === updatedAt && updatedAt !== '') {
        next.set(bucket, previous);
        continue;
      }
      const statuses: SensorStatus[] = [];
      for (const name in item) {
        if (name === SENSOR_STATUS_TABLE.partitionKey || name === SENSOR_STATUS_TABLE.updatedAt) continue;
        const value = item[name]!.S;
        const status = value === undefined ? undefined : decodeSensorStatus(name, value);
        if (status) statuses.push(status);
      }
      next.set(bucket, { updatedAt, statuses });
      if (++decoded % 16 === 0) await new Promise<void>((r) => setImmediate(r));
    }
    this.known = next;
    return [...next.values()].flatMap((v) => v.statuses);
  }
}

/** Every sensor's status in the table (a sensor in two items is given twice; the core keeps the newest). */
export async function scanSensorStatus(
  client: DynamoDBClient,
  tableName: string,
  io: IoContext,
  counter: CallCounter,
  meter: ReadMeter,
  decoder: StatusDecoder = new StatusDecoder(),
): Promise<SensorStatus[]> {
  return decoder.decode(await scanAll(client, tableName, undefined, io, counter, meter));
}

const A = ALERT_STATE_ATTRIBUTES;

/** An alert-state item (or its zone-index projection) as the console's AlertState. */
export function alertStateFromItem(item: Item): AlertState | undefined {
  const sensorId = item[A.sensorId]?.S;
  const level = item[A.level]?.S as Level | undefined;
  if (!sensorId || !level || !LEVELS.includes(level)) return undefined;
  const lastAlertAt: AlertState['lastAlertAt'] = {};
  for (const [k, v] of Object.entries(item[A.lastAlertAt]?.M ?? {})) {
    if ((LEVELS as readonly string[]).includes(k) && v.N) lastAlertAt[k as Level] = Number(v.N);
  }
  const ack =
    item[ACK_ATTRIBUTES.by]?.S && item[ACK_ATTRIBUTES.since]?.N
      ? {
          by: item[ACK_ATTRIBUTES.by]!.S!,
          at: item[ACK_ATTRIBUTES.at]?.S ?? '',
          level: item[ACK_ATTRIBUTES.level]?.S ?? '',
          since: Number(item[ACK_ATTRIBUTES.since]!.N),
        }
      : undefined;
  return {
    sensorId,
    zoneId: item[A.zone]?.S ?? '',
    level,
    lastAlertAt,
    updatedAtMs: Date.parse(item[A.updatedAt]?.S ?? '') || 0,
    ...(ack ? { ack } : {}),
  };
}

const ALERT_PROJECTION = {
  expression: [A.sensorId, A.zone, A.level, A.lastAlertAt, A.updatedAt, ...Object.values(ACK_ATTRIBUTES)].map((_, i) => `#p${i}`).join(', '),
  names: Object.fromEntries([A.sensorId, A.zone, A.level, A.lastAlertAt, A.updatedAt, ...Object.values(ACK_ATTRIBUTES)].map((n, i) => [`#p${i}`, n])),
};

/** The sensors above NORMAL (or with an alert to publish): keys from the sparse elevated index, then their items. */
export async function activeAlertStates(client: DynamoDBClient, tableName: string, io: IoContext, counter: CallCounter, meter: ReadMeter): Promise<AlertState[]> {
  const keys = await scanAll(client, tableName, ALERT_STATE_TABLE.elevatedIndexName, io, counter, meter);
  const ids = [...new Set(keys.map((k) => k[A.sensorId]?.S).filter((id): id is string => id !== undefined))];
  const states: AlertState[] = [];
  const items = await batchGetAll(client, tableName, ids.map((id) => ({ [A.sensorId]: { S: id } })), io, counter, {
    projection: ALERT_PROJECTION,
    returnConsumedCapacity: true,
    onAnswer: (out, page) => meter.add(out.ConsumedCapacity?.[0], itemReadUnits(page, false)),
  });
  for (const item of items) {
    const state = alertStateFromItem(item);
    if (state) states.push(state);
  }
  return states;
}

/** The alert states of these zones that changed since `sinceMs` (the zone index), newest first, RECENT_PER_ZONE a zone. */
export async function recentAlertStates(
  client: DynamoDBClient,
  tableName: string,
  zoneIds: readonly string[],
  sinceMs: number,
  io: IoContext,
  counter: CallCounter,
  meter: ReadMeter,
): Promise<AlertState[]> {
  const since = new Date(sinceMs).toISOString();
  const results = await mapPool([...zoneIds], io.concurrency, async (zoneId) => {
    counter.add('Query');
    const out = await retrying(io, 'Query', (abortSignal) =>
      client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: ALERT_ZONE_INDEX.name,
          KeyConditionExpression: '#z = :z AND #u >= :since',
          ExpressionAttributeNames: { '#z': ALERT_ZONE_INDEX.partitionKey, '#u': ALERT_ZONE_INDEX.sortKey },
          ExpressionAttributeValues: { ':z': { S: zoneId }, ':since': { S: since } },
          ScanIndexForward: false,
          Limit: RECENT_PER_ZONE,
          ReturnConsumedCapacity: 'TOTAL',
        }),
        { abortSignal },
      ),
    );
    meter.add(out.ConsumedCapacity, pageReadUnits(out.Items ?? [], false));
    return (out.Items ?? []).map(alertStateFromItem).filter((s): s is AlertState => s !== undefined);
  });
  return results.flat();
}

/** One sensor's alert state, read consistently (before an acknowledgement). */
export async function getAlertState(client: DynamoDBClient, tableName: string, sensorId: string, io: IoContext, counter: CallCounter, meter: ReadMeter): Promise<AlertState | undefined> {
  counter.add('GetItem');
  const out = await retrying(io, 'GetItem', (abortSignal) =>
    client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { [A.sensorId]: { S: sensorId } },
        ConsistentRead: true,
        ProjectionExpression: ALERT_PROJECTION.expression,
        ExpressionAttributeNames: ALERT_PROJECTION.names,
        ReturnConsumedCapacity: 'TOTAL',
      }),
      { abortSignal },
    ),
  );
  meter.add(out.ConsumedCapacity, out.Item ? itemReadUnits([out.Item], true) : 1);
  return out.Item ? alertStateFromItem(out.Item) : undefined;
}

/**
 * Records who acknowledged which alert of a sensor, once: the write sets only the acknowledgement's
 * attributes (the API role may write no other), on an existing item, unless this very alert
 * (level and since) is already acknowledged. Never touches `version`, so the processor's
 * version-conditioned writes and this one can neither fail nor undo each other.
 * Answers 'acknowledged', or 'already' when it was (the first acknowledgement stands).
 */
export async function acknowledgeAlert(
  client: DynamoDBClient,
  tableName: string,
  ack: { sensorId: string; level: Level; sinceMs: number; by: string; atIso: string },
  io: IoContext,
  counter: CallCounter,
): Promise<'acknowledged' | 'already'> {
  const outcome = await conditionalWrite(io, counter, 'UpdateItem', (abortSignal) =>
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [A.sensorId]: { S: ack.sensorId } },
        UpdateExpression: 'SET #by = :by, #at = :at, #level = :level, #since = :since',
        ConditionExpression: 'attribute_exists(#id) AND (attribute_not_exists(#since) OR #since <> :since OR #level <> :level)',
        ExpressionAttributeNames: {
          '#id': A.sensorId,
          '#by': ACK_ATTRIBUTES.by,
          '#at': ACK_ATTRIBUTES.at,
          '#level': ACK_ATTRIBUTES.level,
          '#since': ACK_ATTRIBUTES.since,
        },
        ExpressionAttributeValues: { ':by': { S: ack.by }, ':at': { S: ack.atIso }, ':level': { S: ack.level }, ':since': { N: String(ack.sinceMs) } },
        ReturnValues: 'NONE',
      }),
      { abortSignal },
    ),
  );
  return outcome.kind === 'written' ? 'acknowledged' : 'already';
}

/** One rollup window of a sensor, as the console shows it (what the processor wrote, by name). */
export interface RollupRow {
  windowStart: string;
  readings: number;
  firstReadingAt?: string;
  lastReadingAt?: string;
  congestion: { mean?: number; max?: number; last?: number };
  vehicles: { sum?: number; max?: number; last?: number };
  speedKmh: { mean?: number; min?: number; last?: number };
  weather?: string;
}

const num = (item: Item, name: string): number | undefined => (item[name]?.N !== undefined ? Number(item[name]!.N) : undefined);

export function rollupRow(item: Item): RollupRow {
  return {
    windowStart: item[READINGS_TABLE.sortKey]?.S ?? '',
    readings: num(item, READINGS_TABLE.countAttribute) ?? 0,
    firstReadingAt: item.first_reading_at?.S,
    lastReadingAt: item[READINGS_TABLE.lastReadingAttribute]?.S,
    congestion: { mean: windowMean(item, 'congestion_index'), max: num(item, 'congestion_index_max'), last: num(item, 'congestion_index_last') },
    vehicles: { sum: num(item, 'vehicle_count_sum'), max: num(item, 'vehicle_count_max'), last: num(item, 'vehicle_count_last') },
    speedKmh: { mean: windowMean(item, 'avg_speed'), min: num(item, 'avg_speed_min'), last: num(item, 'avg_speed_last') },
    ...(item.weather_condition_last?.S !== undefined ? { weather: item.weather_condition_last.S } : {}),
  };
}

/** A sensor's rollup windows that started at or after `sinceMs`, oldest first (one Query of its own partition). */
export async function sensorRollups(
  client: DynamoDBClient,
  tableName: string,
  sensorId: string,
  sinceMs: number,
  io: IoContext,
  counter: CallCounter,
  meter: ReadMeter,
): Promise<RollupRow[]> {
  const items = await pages(io, counter, meter, 'Query', false, (start, abortSignal) =>
    client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#pk = :id AND #ts >= :since',
        ExpressionAttributeNames: { '#pk': READINGS_TABLE.partitionKey, '#ts': READINGS_TABLE.sortKey },
        ExpressionAttributeValues: { ':id': { S: sensorId }, ':since': { S: new Date(sinceMs).toISOString() } },
        ExclusiveStartKey: start,
        ReturnConsumedCapacity: 'TOTAL',
      }),
      { abortSignal },
    ),
  );
  return items.map(rollupRow);
}

/** A thing's `location` attribute, "lat,lon", as a position (none when absent or malformed). */
export function parseLocation(location: string | undefined): { lat: number; lon: number } | undefined {
  const m = /^(-?\d{1,3}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)$/.exec(location ?? '');
  if (!m) return undefined;
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  return Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? { lat, lon } : undefined;
}

/** Every sensor's position: things of the sensor type and their `location` attribute (ListThings, 250 a page). */
export async function sensorPositions(iot: IoTClient, thingTypeName: string, io: IoContext, counter: CallCounter): Promise<Map<string, { lat: number; lon: number }>> {
  const positions = new Map<string, { lat: number; lon: number }>();
  let nextToken: string | undefined;
  do {
    counter.add('ListThings');
    const out = await retrying(io, 'ListThings', (abortSignal) =>
      iot.send(new ListThingsCommand({ thingTypeName, maxResults: 250, nextToken }), { abortSignal }),
    );
    for (const thing of out.things ?? []) {
      const position = parseLocation(thing.attributes?.location);
      if (thing.thingName && position) positions.set(thing.thingName, position);
    }
    nextToken = out.nextToken;
  } while (nextToken);
  return positions;
}

/** A zone's trend: the processor's per-zone metrics, one point a minute over the last hour. */
export async function zoneTrend(
  cloudwatch: CloudWatchClient,
  namespace: string,
  zoneId: string,
  nowMs: number,
  io: IoContext,
  counter: CallCounter,
): Promise<{ t: number[]; congestion: (number | null)[]; vehicles: (number | null)[] }> {
  const dimensions = [
    { Name: METRIC_DIMENSION.service, Value: SERVICE_NAME },
    { Name: METRIC_DIMENSION.zone, Value: zoneId },
  ];
  const end = new Date(Math.floor(nowMs / 60_000) * 60_000 + 60_000);
  const start = new Date(end.getTime() - 60 * 60_000);
  counter.add('GetMetricData');
  const out = await retrying(io, 'GetMetricData', (abortSignal) =>
    cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        ScanBy: 'TimestampAscending',
        MetricDataQueries: [
          { Id: 'congestion', MetricStat: { Metric: { Namespace: namespace, MetricName: METRIC.zoneCongestionIndex, Dimensions: dimensions }, Period: 60, Stat: 'Average' } },
          { Id: 'vehicles', MetricStat: { Metric: { Namespace: namespace, MetricName: METRIC.zoneVehicleCount, Dimensions: dimensions }, Period: 60, Stat: 'Sum' } },
        ],
      }),
      { abortSignal },
    ),
  );
  const minutes = Array.from({ length: 60 }, (_, i) => start.getTime() + i * 60_000);
  const series = (id: string) => {
    const r = out.MetricDataResults?.find((m) => m.Id === id);
    const byTime = new Map((r?.Timestamps ?? []).map((t, i) => [new Date(t).getTime(), r!.Values![i]!]));
    return minutes.map((t) => {
      const v = byTime.get(t);
      return v === undefined ? null : Math.round(v * 10) / 10;
    });
  };
  return { t: minutes, congestion: series('congestion'), vehicles: series('vehicles') };
}
