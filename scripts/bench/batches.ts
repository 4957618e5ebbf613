/**
 * The benchmark's batches (npm run bench): Kinesis events of one shard's sensors, deterministic so
 * that every run measures the same records.
 *
 * - steady stream: 10,000 records of 5,000 sensors (2 readings each, 1 s apart), each sensor's
 *   congestion a property of its place with some noise (5% of them congested), each batch 2 s after
 *   the one before: in the steady state the alert state knows the congested sensors, few transitions;
 * - transition storm: the same batch, but STORM_SENSORS sensors swing between free flow and
 *   CRITICAL from one batch to the next, so every one of them changes level in every batch (the
 *   alert state machine's worst case: a commit, an alert and an outbox clear per sensor);
 * - production shape: a lane of a 50,000-sensor stream (417 sensors × 5 readings).
 */
import { hash } from 'node:crypto';
import type { KinesisStreamEvent } from 'aws-lambda';
import { exampleReading } from '../../contract';
import { readingRecord, ruleRecordOf } from '../lib/rule-record';

export const RECORDS = 10_000;
export const SENSORS = 5_000;
export const INVALID_SHARE = 0.02;
/** Sensors that change level in every storm batch: 900 alerts a batch, as the issue that asked for the storm measured. */
export const STORM_SENSORS = 900;

/** A deterministic pseudo-random source, so every run measures the same batch. */
export function lcg(seed: number) {
  let state = seed;
  return () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

/**
 * Sensors of one shard: Kinesis routes by MD5 of the partition key, so one batch holds sensors of
 * a contiguous MD5 range. Here: 4 of 256 first-byte buckets, as a shard of a 64-shard stream.
 */
function shardSensors(): string[] {
  const sensors: string[] = [];
  for (let i = 0; sensors.length < SENSORS; i++) {
    const id = `sensor-${i}`;
    const bucket = parseInt(hash('md5', id).slice(0, 2), 16);
    if (bucket >= 0x40 && bucket < 0x44) sensors.push(id);
  }
  return sensors;
}

export interface Shape {
  sensors: number;
  readingsPerSensor: number;
}
/** The benchmark's batch: 10,000 records of 5,000 sensors (2 readings each): the most windows per record. */
export const BENCH_SHAPE: Shape = { sensors: SENSORS, readingsPerSensor: RECORDS / SENSORS };
/**
 * A batch as the defaults make it at 50,000 sensors: a 5 s window of one of 120 lanes (60 shards
 * × parallelization 2) holds 417 sensors' 5 readings each.
 */
export const PRODUCTION_SHAPE: Shape = { sensors: 417, readingsPerSensor: 5 };

const START_MS = Date.now() - 3_600_000;
const SHARD_SENSORS = shardSensors();
/** Each sensor's place: 5% of them congested (above the 80 warning threshold), the rest below 70. */
const BASE_CONGESTION = (() => {
  const random = lcg(42);
  return SHARD_SENSORS.map(() => (random() < 0.05 ? 84 + random() * 14 : random() * 67));
})();

/**
 * The `batch`-th batch of the shard: `readingsPerSensor` readings of each sensor, 1 s apart, each
 * batch right after the one before (a running stream: every batch brings new readings). A storm
 * batch swings the first STORM_SENSORS sensors: CRITICAL in even batches, free flow in odd ones.
 */
export function makeEvent(batch = 0, shape: Shape = BENCH_SHAPE, storm = false): KinesisStreamEvent {
  const random = lcg(43 + batch);
  const records = shape.sensors * shape.readingsPerSensor;
  const Records = Array.from({ length: records }, (_, i) => {
    const s = i % shape.sensors;
    const sensor = SHARD_SENSORS[s]!;
    const at = START_MS + batch * shape.readingsPerSensor * 1_000 + Math.floor(i / shape.sensors) * 1_000;
    let made: { data: Buffer; partitionKey: string };
    if (random() < INVALID_SHARE) {
      made =
        random() < 0.5
          ? ruleRecordOf({ sent: '{"sensor_id":"broken', thing: sensor, receivedAt: at + 120, registryZones: ['z1'] })
          : readingRecord({ sensor_id: sensor, zone_id: 'z1', timestamp: new Date(at).toISOString(), vehicle_count: -4, avg_speed: 30, congestion_index: 50, received_at: at + 120 });
    } else {
      // Congestion is a property of the place: each sensor keeps its level, with some noise.
      const base = storm && s < STORM_SENSORS ? (batch % 2 === 0 ? 95 : 30) : BASE_CONGESTION[s]!;
      const congestion = Math.min(100, Math.max(0, base + (random() - 0.5) * 6));
      made = readingRecord(exampleReading({
        sensor_id: sensor,
        zone_id: `zone-${i % 200}`,
        timestamp: new Date(at).toISOString(),
        vehicle_count: Math.floor(random() * 40),
        avg_speed: Math.round(random() * 900) / 10,
        congestion_index: Math.round(congestion * 10) / 10,
        temperature: 12.5,
        weather_condition: 'clear',
        received_at: at + 120,
        thing_name: sensor,
      }));
    }
    const sequenceNumber = String(49_600_000_000_000_000_000_000_000_000_000_000_000_000n + BigInt(batch * records + i));
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: made.partitionKey,
        sequenceNumber,
        data: made.data.toString('base64'),
        approximateArrivalTimestamp: at / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000007:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/processor',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/tapstack-bench-readings',
    };
  });
  return { Records };
}

/**
 * The decode floor: the least any processor does to read a reading, ns for the batch: the rule's
 * record (base64, JSON), then the sensor's payload inside it (base64, JSON) (contract/reading.ts
 * RULE_RECORD).
 */
export function decodeFloorNs(event: KinesisStreamEvent): number {
  const started = process.hrtime.bigint();
  for (const r of event.Records) {
    try {
      const record = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as { payload: string };
      JSON.parse(Buffer.from(record.payload, 'base64').toString('utf8'));
    } catch {
      // the invalid share is in the floor too
    }
  }
  return Number(process.hrtime.bigint() - started);
}
