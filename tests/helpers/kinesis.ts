/** Kinesis events for the processor, built the way Lambda delivers them from records the topic rule wrote. */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { exampleReading, type RawReading } from '../../contract';
import { readingRecord, ruleRecordOf, type SensorMessage } from '../../scripts/lib/rule-record';

/** IoT Core's facts beside a reading (not the sensor's): the receive time, the publishing thing, the registry zone. */
export interface IotFacts {
  received_at?: number;
  thing_name?: string;
  registry_zone?: string;
}

/** A reading as the sensor sends it (the contract's fields), with IoT Core's facts. */
export type ReadingInput = RawReading & IotFacts;

let sequence = 49_650_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;

/**
 * What a record carries:
 *  - a reading (ReadingInput or any object): the sensor's JSON, with the facts IoT Core establishes
 *    (`received_at`, `thing_name`, `registry_zone`) lifted into the rule's record (readingRecord);
 *  - `{ raw }`: a payload the sensor published as these bytes (no receive time, no zone);
 *  - `{ base64, partitionKey? }`: the Kinesis record's data as given (made by anyone; the partition key 'unknown' unless given);
 *  - a SensorMessage: exactly what a sensor sent and what IoT established (the attacker's tests).
 */
export type RecordInput = ReadingInput | Record<string, unknown> | { raw: string } | { base64: string; partitionKey?: string } | SensorMessage;

function recordOf(p: RecordInput): { data: string; partitionKey: string } {
  if ('base64' in p && typeof p.base64 === 'string') return { data: p.base64, partitionKey: (p.partitionKey as string | undefined) ?? 'unknown' };
  const made =
    'sent' in p && 'thing' in p
      ? ruleRecordOf(p as SensorMessage)
      : 'raw' in p && typeof p.raw === 'string'
        ? ruleRecordOf({ sent: p.raw, thing: 'unknown' })
        : readingRecord(p as Record<string, unknown>);
  return { data: made.data.toString('base64'), partitionKey: made.partitionKey };
}

/** One record per input, as the topic rule writes it (see RecordInput). */
export function kinesisEvent(payloads: RecordInput[], shardId = 'shardId-000000000000', arrivalMs = Date.now()): KinesisStreamEvent {
  const Records: KinesisStreamRecord[] = payloads.map((p) => {
    sequence += 1n;
    const { data, partitionKey } = recordOf(p);
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
  return exampleReading({
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
  });
}

export const context = (remainingMs = 60_000) => {
  const start = Date.now();
  return { getRemainingTimeInMillis: () => remainingMs - (Date.now() - start) };
};
