/**
 * The raw-data sink against moto's Firehose (Direct PUT → S3): the objects that land hold one JSON
 * document per valid reading after de-aggregation (split into lines), whose keys and types are the
 * Glue table's columns as the committed template declares them (through the delivery stream's
 * OpenX JSON key mappings). moto neither buffers nor converts to Parquet, so the objects are what
 * Firehose's deserializer would read.
 */
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processBatch } from '../../handlers/processor/handler';
import { rawDataSink } from '../../handlers/processor/sinks/raw-data';
import { createRawDeliveryStream, rawObjects, rawReadings } from '../helpers/firehose';
import { context, kinesisEvent, reading } from '../helpers/kinesis';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';
import { TEST_CONFIG } from '../helpers/processor-config';
import { committedTemplate } from '../helpers/template';

/** The Glue table's columns by the JSON key they are read from, with their Hive types. */
function glueColumnsByJsonKey(): Map<string, string> {
  const template = committedTemplate();
  const columns = template.Resources.RawReadingsTable!.Properties.TableInput.StorageDescriptor.Columns as { Name: string; Type: string }[];
  const conversion = template.Resources.DeliveryStream!.Properties.ExtendedS3DestinationConfiguration.DataFormatConversionConfiguration;
  const mappings = conversion.InputFormatConfiguration.Deserializer.OpenXJsonSerDe.ColumnToJsonKeyMappings as Record<string, string>;
  return new Map(columns.map((c) => [mappings[c.Name] ?? c.Name, c.Type]));
}

/** Whether a JSON value can be read as a column of this Hive type. */
const fitsType = (value: unknown, type: string): boolean =>
  ({
    string: typeof value === 'string',
    int: Number.isInteger(value) && Math.abs(value as number) < 2 ** 31,
    bigint: Number.isSafeInteger(value),
    double: typeof value === 'number',
  })[type] ?? false;

describe('raw-data lake against moto (Firehose Direct PUT → S3)', () => {
  let moto: Moto;
  let aws: ReturnType<typeof motoClientConfig>;

  beforeAll(async () => {
    moto = await startMoto();
    aws = motoClientConfig(moto.endpoint);
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('lands one JSON document per valid reading, with the Glue columns as keys and types (production batch shape)', async () => {
    const lake = await createRawDeliveryStream(aws, 'tapstack-raw');
    const T = Date.now() - 60_000;
    // 417 sensors × 5 readings (one lane's 5 s batch at 50,000 sensors), some invalid, one pretty-printed.
    const payloads: Parameters<typeof kinesisEvent>[0] = [];
    for (let k = 0; k < 5; k++) {
      for (let s = 0; s < 417; s++) {
        payloads.push(reading(s, T + k * 1000, { weather_condition: s % 3 === 0 ? 'pluie légère' : 'clear', temperature: 11.5 }));
      }
    }
    const { received_at: receivedAt, thing_name: _thing, ...fields } = reading(10_000, T);
    payloads.push(
      { raw: 'not json' },
      reading(9_999, T, { avg_speed: 420 }),
      { sent: JSON.stringify(fields, null, 2), thing: fields.sensor_id, receivedAt, registryZones: [fields.zone_id] },
    );
    const event = kinesisEvent(payloads);
    const outcome = await processBatch(event, context(), {
      config: TEST_CONFIG,
      sinks: [rawDataSink(new FirehoseClient(aws), lake.deliveryStreamName)],
      write: () => undefined,
    });
    const valid = 417 * 5 + 1;
    expect(outcome).toMatchObject({ recordsIn: valid + 2, quarantined: 2, retried: 0, rawRecordsDelivered: 1, rawDeliveryFailures: 0 });
    expect(outcome.calls).toEqual({ PutRecordBatch: 1 });

    const objects = await rawObjects(aws, lake.bucket);
    const readings = rawReadings(objects);
    expect(readings).toHaveLength(valid);
    const keys = readings.map((r) => `${r.sensor_id} ${r.timestamp}`);
    expect(new Set(keys).size).toBe(valid);
    const sent = payloads.filter((_, i) => i < 417 * 5).map((p) => `${(p as { sensor_id: string }).sensor_id} ${(p as { timestamp: string }).timestamp}`);
    for (const key of [...sent, `sensor-10000 ${new Date(T).toISOString()}`]) expect(keys).toContain(key);

    const columns = glueColumnsByJsonKey();
    for (const r of readings) {
      for (const [key, value] of Object.entries(r)) {
        expect(columns.has(key), `"${key}" is not a column of the Glue table`).toBe(true);
        expect(fitsType(value, columns.get(key)!), `${key}: ${JSON.stringify(value)} as ${columns.get(key)}`).toBe(true);
      }
      for (const required of ['sensor_id', 'zone_id', 'timestamp', 'vehicle_count', 'avg_speed', 'congestion_index']) expect(r).toHaveProperty(required);
    }
    expect(readings.find((r) => r.sensor_id === 'sensor-00003')?.weather_condition).toBe('pluie légère');
    const bytes = objects.reduce((n, o) => n + o.length, 0);
    console.log(`raw-data lake, 417 sensors x 5 readings: ${outcome.calls.PutRecordBatch} PutRecordBatch, ${objects.length} object(s), ${bytes} bytes, ${Math.round(bytes / valid)} bytes/reading`);
  }, 120_000);
});
