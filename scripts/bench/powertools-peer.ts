/**
 * A processor as users of AWS Lambda Powertools write one, for the benchmark's comparison: the
 * documented BatchProcessor usage for Kinesis (`new BatchProcessor(EventType.KinesisDataStreams)`
 * and `processPartialResponse(event, recordHandler, processor, { context })`, records processed
 * in parallel; https://docs.aws.amazon.com/powertools/typescript/latest/features/batch/), with a
 * record handler that decodes the rule's record and the reading in it, checks the reading (and that
 * its sensor is the publishing thing), writes it with one PutItem, and, when the
 * sensor's congestion level changed since its last reading (kept in the container's memory), puts
 * one alert event with one PutEvents. Written by us from that documentation; not part of the
 * processor. It does what the processor does per reading, without its rollups, batching or
 * exactly-once machinery (and without its guarantees).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { ALERT_EVENT, type RawReading } from '../../contract';

export interface PeerOptions {
  tableName: string;
  eventBusName: string;
  warningThreshold: number;
  criticalThreshold: number;
}

type Reading = Pick<RawReading, 'sensor_id' | 'zone_id' | 'timestamp' | 'vehicle_count' | 'avg_speed' | 'congestion_index'>;

/** The peer's handler: clients and memory built once per container, as Powertools' examples do. */
export function powertoolsPeer(options: PeerOptions): (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse> {
  const dynamodb = new DynamoDBClient({});
  const eventbridge = new EventBridgeClient({});
  const processor = new BatchProcessor(EventType.KinesisDataStreams);
  const levels = new Map<string, string>();
  const levelOf = (index: number) => (index > options.criticalThreshold ? 'CRITICAL' : index > options.warningThreshold ? 'WARNING' : 'NORMAL');

  const recordHandler = async (record: KinesisStreamRecord): Promise<void> => {
    // The rule's record, then the sensor's payload inside it (contract/reading.ts RULE_RECORD).
    const ruleRecord = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as { payload?: unknown };
    if (typeof ruleRecord.payload !== 'string') throw new Error('not a record of the topic rule');
    const reading = JSON.parse(Buffer.from(ruleRecord.payload, 'base64').toString('utf8')) as Reading;
    if (reading.sensor_id !== record.kinesis.partitionKey) throw new Error('sensor_id is not the publishing thing');
    if (typeof reading.sensor_id !== 'string' || typeof reading.congestion_index !== 'number' || typeof reading.vehicle_count !== 'number') {
      throw new Error('invalid reading');
    }
    await dynamodb.send(
      new PutItemCommand({
        TableName: options.tableName,
        Item: {
          sensor_id: { S: reading.sensor_id },
          timestamp: { S: reading.timestamp },
          zone_id: { S: reading.zone_id },
          vehicle_count: { N: String(reading.vehicle_count) },
          avg_speed: { N: String(reading.avg_speed) },
          congestion_index: { N: String(reading.congestion_index) },
        },
      }),
    );
    const level = levelOf(reading.congestion_index);
    const previous = levels.get(reading.sensor_id) ?? 'NORMAL';
    levels.set(reading.sensor_id, level);
    if (level === previous) return;
    await eventbridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: options.eventBusName,
            Source: ALERT_EVENT.source,
            DetailType: ALERT_EVENT.detailType,
            Detail: JSON.stringify({ sensor_id: reading.sensor_id, zone_id: reading.zone_id, level, previous_level: previous, reading_time: reading.timestamp }),
          },
        ],
      }),
    );
  };

  return (event, context) => processPartialResponse(event, recordHandler, processor, { context });
}
