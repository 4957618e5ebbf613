/** Stable hashes: the same input gives the same output on every machine and every run. */
import { createHash, hash } from 'node:crypto';

/** FNV-1a, 32 bit: cheap and stable, for spreading sensors over zone index shards. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** `zone_id#n`, n = fnv1a32(sensor_id) mod shards: the write-sharded zone index key. */
export function zoneShard(zoneId: string, sensorId: string, shards: number): string {
  return `${zoneId}#${fnv1a32(sensorId) % shards}`;
}

/**
 * The elevated-index bucket of a sensor: the first byte of MD5(sensor id) in hex. Kinesis routes
 * records by MD5 of the partition key (the sensor id), so one shard's sensors share few buckets.
 */
export function elevatedBucket(sensorId: string): string {
  let bucket = bucketCache.get(sensorId);
  if (bucket === undefined) {
    bucket = hash('md5', sensorId).slice(0, 2);
    // A shard's sensors come back every batch: remember them, within a bound.
    if (bucketCache.size >= BUCKET_CACHE_LIMIT) bucketCache.clear();
    bucketCache.set(sensorId, bucket);
  }
  return bucket;
}
const BUCKET_CACHE_LIMIT = 200_000;
const bucketCache = new Map<string, string>();

/** A short deterministic id: the first 32 hex digits of SHA-256 over the parts. */
export function deterministicId(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 32);
}
