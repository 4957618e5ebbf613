/** Kinesis events for the processor, built the way Lambda delivers them. */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

export interface ReadingInput {
  sensor_id: string;
  zone_id: string;
  timestamp: string;
  vehicle_count: number;
  avg_speed: number;
  congestion_index: number;
  temperature?: number;
  weather_condition?: string;
  received_at?: number;
  thing_name?: string;
  registry_zone?: string;
}

let sequence = 49_650_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;

/** One record per payload: an object is JSON-encoded, a string is sent as given (raw bytes). */
export function kinesisEvent(
  payloads: (ReadingInput | Record<string, unknown> | { raw: string } | { base64: string })[],
  shardId = 'shardId-000000000000',
  arrivalMs = Date.now(),
): KinesisStreamEvent {
  const Records: KinesisStreamRecord[] = payloads.map((p) => {
    sequence += 1n;
    const data =
      'base64' in p && typeof p.base64 === 'string'
        ? p.base64
        : Buffer.from('raw' in p && typeof p.raw === 'string' ? p.raw : JSON.stringify(p)).toString('base64');
    const partitionKey = (p as { sensor_id?: string }).sensor_id ?? 'unknown';
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey,
        sequenceNumber: sequence.toString(),
        data,
        approximateArrivalTimestamp: arrivalMs / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${sequence.toString()}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/processor',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/tapstack-test-readings',
    };
  });
  return { Records };
}

/** A valid reading for a sensor at a time, with sensible values. */
export function reading(sensor: number | string, atMs: number, overrides: Partial<ReadingInput> = {}): ReadingInput {
  const id = typeof sensor === 'string' ? sensor : `sensor-${String(sensor).padStart(5, '0')}`;
  return {
    sensor_id: id,
    zone_id: `zone-${typeof sensor === 'number' ? sensor % 50 : 0}`,
    timestamp: new Date(atMs).toISOString(),
    vehicle_count: 12,
    avg_speed: 42.5,
    congestion_index: 35,
    temperature: 18.5,
    weather_condition: 'clear',
    received_at: atMs + 150,
    thing_name: id,
    ...overrides,
  };
}

export const context = (remainingMs = 60_000) => {
  const start = Date.now();
  return { getRemainingTimeInMillis: () => remainingMs - (Date.now() - start) };
};
