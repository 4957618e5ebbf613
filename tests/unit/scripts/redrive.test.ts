import { describe, expect, it } from 'vitest';
import { MAX_PUT_RECORDS } from '../../../handlers/processor/limits';
import { alertMessage, chunkEntries, parseDlqMessage } from '../../../scripts/redrive';

describe('redrive helpers', () => {
  it('reads the failed batch from a Kinesis on-failure record, and refuses anything else', () => {
    const body = JSON.stringify({ KinesisBatchInfo: { shardId: 'shardId-000000000001', startSequenceNumber: '1', endSequenceNumber: '9', batchSize: 9, streamArn: 'arn' } });
    expect(parseDlqMessage(body)).toMatchObject({ shardId: 'shardId-000000000001', startSequenceNumber: '1', endSequenceNumber: '9', batchSize: 9 });
    expect(() => parseDlqMessage('{"hello":1}')).toThrow('not a Kinesis on-failure record');
  });

  it('puts at most 500 records and 5 MiB per PutRecords call', () => {
    const small = Array.from({ length: 10_000 }, (_, i) => ({ Data: Buffer.from(`{"n":${i}}`), PartitionKey: `s-${i}` }));
    const chunks = chunkEntries(small);
    expect(chunks).toHaveLength(20);
    expect(chunks.every((c) => c.length === MAX_PUT_RECORDS)).toBe(true);
    const big = Array.from({ length: 12 }, (_, i) => ({ Data: Buffer.alloc(1024 * 1024 - 10), PartitionKey: `s-${i}` }));
    expect(chunkEntries(big).map((c) => c.length)).toEqual([5, 5, 2]);
  });

  it("writes an undelivered alert as the rule's input transformer does", () => {
    const event = { detail: { level: 'WARNING', previous_level: 'NORMAL', sensor_id: 's"1', zone_id: 'z', congestion_index: 81, threshold: 80, reading_time: 't', alert_id: 'a' } };
    expect(alertMessage(event)).toBe('Traffic congestion WARNING (was NORMAL) at sensor s"1 in zone z: congestion index 81, threshold 80, reading at t. Alert a.');
  });
});
