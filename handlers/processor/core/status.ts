/**
 * The console's sensor status, pure: each sensor's latest valid reading of a batch, grouped into the
 * status items it belongs to (contract/console.ts). A sensor's item is its share of the MD5 hash
 * space Kinesis routes by, so one shard's sensors (and one batch's) fall in few items.
 */
import { encodeSensorStatus } from '../../../contract';
import { elevatedBucket } from './hash';
import type { SensorReadings } from './batch';

/**
 * Sensors per UpdateItem: each is one `#n = :v` assignment, and DynamoDB allows 300 operators and
 * 4 KB per expression (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-expression-parameters);
 * 150 assignments of ≤ 12 characters stay well inside both.
 */
export const MAX_SENSORS_PER_STATUS_WRITE = 150;

/** The status item of a sensor when the table spreads sensors over `items` items (a power of two ≤ 256). */
export function statusBucket(sensorId: string, items: number): string {
  if (items !== bucketsOf) {
    bucketCache.clear();
    bucketsOf = items;
  }
  let bucket = bucketCache.get(sensorId);
  if (bucket === undefined) {
    const firstByte = Number.parseInt(elevatedBucket(sensorId), 16);
    bucket = `b${items}-${Math.floor((firstByte * items) / 256).toString(16)}`;
    // A shard's sensors come back every batch: remember them, within a bound.
    if (bucketCache.size >= BUCKET_CACHE_LIMIT) bucketCache.clear();
    bucketCache.set(sensorId, bucket);
  }
  return bucket;
}
const BUCKET_CACHE_LIMIT = 200_000;
const bucketCache = new Map<string, string>();
let bucketsOf = 0;

/** One UpdateItem: these sensors' encoded statuses into this item. */
export interface StatusWrite {
  bucket: string;
  sensors: [sensorId: string, value: string][];
}

/**
 * The writes of a batch: every sensor's latest valid reading, by item, at most
 * MAX_SENSORS_PER_STATUS_WRITE to a write. Replayed readings (a redrive, long after IoT Core took
 * them) are history, not status, and are left out.
 */
export function statusWrites(sensors: readonly SensorReadings[], items: number): StatusWrite[] {
  const byBucket = new Map<string, [string, string][]>();
  for (let i = 0; i < sensors.length; i++) {
    const r = sensors[i]!;
    // Readings are in time order: the last is the sensor's newest of the batch.
    const last = r.readings[r.readings.length - 1];
    if (!last || last.replayed) continue;
    const value = encodeSensorStatus({
      zoneId: last.zone_id,
      congestionIndex: last.congestion_index,
      vehicleCount: last.vehicle_count,
      avgSpeedKmh: last.avg_speed,
      receivedAtMs: last.received_at,
      readingAtMs: last.timestampMs,
    });
    const bucket = statusBucket(r.sensorId, items);
    const list = byBucket.get(bucket);
    if (list) list.push([r.sensorId, value]);
    else byBucket.set(bucket, [[r.sensorId, value]]);
  }
  const writes: StatusWrite[] = [];
  for (const [bucket, sensors] of byBucket) {
    for (let i = 0; i < sensors.length; i += MAX_SENSORS_PER_STATUS_WRITE) {
      writes.push({ bucket, sensors: sensors.slice(i, i + MAX_SENSORS_PER_STATUS_WRITE) });
    }
  }
  return writes;
}
