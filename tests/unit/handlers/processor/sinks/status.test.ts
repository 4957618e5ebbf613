/** sinks/status.ts: the status sink in processBatch (AWS in memory). */
import { describe, expect, it } from 'vitest';
import { decodeSensorStatus, SENSOR_STATUS_TABLE } from '../../../../../contract';
import type { FakeAws } from '../../../../doubles/fake-aws';
import { kinesisEvent, reading } from '../../../../helpers/kinesis';
import { TEST_CONFIG } from '../../../../helpers/processor-config';
import { inMemoryContainer, runBatch } from '../../../../helpers/processor-run';

const T = Date.now() - 10_000;

describe('the status sink in processBatch (AWS in memory)', () => {
  const container = inMemoryContainer;
  const run = runBatch;
  const statuses = (aws: FakeAws) =>
    Object.fromEntries(
      [...aws.table(TEST_CONFIG.sensorStatusTableName).items.values()].flatMap((item) =>
        Object.entries(item)
          .filter(([name]) => name !== SENSOR_STATUS_TABLE.partitionKey && name !== SENSOR_STATUS_TABLE.updatedAt)
          .map(([id, v]) => [id, decodeSensorStatus(id, v.S!)!]),
      ),
    );

  it("writes every sensor's latest reading, and a later batch replaces it without touching the others", async () => {
    const { aws, sinks } = container();
    await run(sinks, kinesisEvent([reading(1, T, { congestion_index: 91 }), reading(2, T, { congestion_index: 20 })]));
    expect(statuses(aws)).toMatchObject({ 'sensor-00001': { congestionIndex: 91 }, 'sensor-00002': { congestionIndex: 20 } });
    await run(sinks, kinesisEvent([reading(1, T + 2000, { congestion_index: 35, zone_id: 'zone-1' })]));
    expect(statuses(aws)).toMatchObject({ 'sensor-00001': { congestionIndex: 35, readingAtMs: T + 2000 }, 'sensor-00002': { congestionIndex: 20 } });
  });

  it('never retries a record for the status: a write given up on is counted (SensorStatusWriteFailures) and the rest is stored', async () => {
    const { aws, sinks } = container((operation, input) => (operation === 'UpdateItem' && input.TableName === TEST_CONFIG.sensorStatusTableName ? 'throttle' : 'ok'));
    const { outcome, service } = await run(sinks, kinesisEvent([reading(1, T), reading(2, T)]));
    expect(outcome).toMatchObject({ stored: 2, retried: 0, statusWriteFailures: expect.any(Number) });
    expect(outcome.statusWriteFailures).toBeGreaterThan(0);
    expect(service.SensorStatusWriteFailures).toBe(outcome.statusWriteFailures);
    expect(statuses(aws)).toEqual({});
  });
});
