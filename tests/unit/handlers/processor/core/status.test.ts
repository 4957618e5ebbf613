/** core/status.ts: statusWrites, each sensor's latest reading in the item of its hash. */
import { describe, expect, it } from 'vitest';
import { decodeSensorStatus } from '../../../../../contract';
import { analyseBatch } from '../../../../../handlers/processor/core/batch';
import { elevatedBucket } from '../../../../../handlers/processor/core/hash';
import { MAX_SENSORS_PER_STATUS_WRITE, statusBucket, statusWrites } from '../../../../../handlers/processor/core/status';
import { toInputRecords } from '../../../../../handlers/processor/handler';
import { kinesisEvent, reading } from '../../../../helpers/kinesis';
import { TEST_CONFIG } from '../../../../helpers/processor-config';

const T = Date.now() - 10_000;
const analyse = (event: ReturnType<typeof kinesisEvent>) =>
  analyseBatch(toInputRecords(event), { config: TEST_CONFIG, nowMs: Date.now() });

describe('statusWrites', () => {
  it("keeps each sensor's latest valid reading, in the item of its hash, and leaves replayed readings out", () => {
    const event = kinesisEvent([
      reading(1, T, { congestion_index: 40 }),
      reading(1, T + 1000, { congestion_index: 95, vehicle_count: 7, avg_speed: 12 }),
      reading(2, T),
      { raw: 'garbage' },
    ]);
    const batch = analyse(event);
    const writes = statusWrites(batch.sensors, 256);
    const all = Object.fromEntries(writes.flatMap((w) => w.sensors.map(([id, value]) => [id, { bucket: w.bucket, status: decodeSensorStatus(id, value)! }])));
    expect(Object.keys(all).sort()).toEqual(['sensor-00001', 'sensor-00002']);
    expect(all['sensor-00001']!.status).toMatchObject({ congestionIndex: 95, vehicleCount: 7, avgSpeedKmh: 12, readingAtMs: T + 1000 });
    // With 256 items a sensor's item is the first byte of MD5(sensor id): the elevated index's bucket.
    expect(all['sensor-00001']!.bucket).toBe(`b256-${Number.parseInt(elevatedBucket('sensor-00001'), 16).toString(16)}`);

    const replayed = analyseBatch(toInputRecords(kinesisEvent([reading(3, T, { received_at: Date.now() - 3 * 86_400_000 })])), {
      config: TEST_CONFIG,
      nowMs: Date.now(),
    });
    expect(replayed.sensors[0]!.readings.at(-1)!.replayed).toBe(true);
    expect(statusWrites(replayed.sensors, 256)).toEqual([]);
  });

  it('spreads sensors over the configured number of items, at most MAX_SENSORS_PER_STATUS_WRITE a write', () => {
    const event = kinesisEvent(Array.from({ length: 1000 }, (_, i) => reading(i + 1, T)));
    const writes = statusWrites(analyse(event).sensors, 4);
    expect(new Set(writes.map((w) => w.bucket))).toEqual(new Set(['b4-0', 'b4-1', 'b4-2', 'b4-3']));
    expect(Math.max(...writes.map((w) => w.sensors.length))).toBe(MAX_SENSORS_PER_STATUS_WRITE);
    expect(writes.reduce((n, w) => n + w.sensors.length, 0)).toBe(1000);
    expect(statusBucket('sensor-00001', 1)).toBe('b1-0');
  });
});
