/** quarantine.ts: quarantine, SendMessageBatch in calls of 10 with each reading's reason and payload. */
import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CallCounter } from '../../../../../handlers/processor/io';
import { quarantine } from '../../../../../handlers/processor/adapters/quarantine';
import { fakeIo } from '../../../../helpers/fake-io';

describe('quarantine', () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => sqs.reset());
  const record = (i: number, data = Buffer.from(`bad ${i}`).toString('base64')) => ({
    record: { sequenceNumber: `${i}`, partitionKey: 'p', data, approximateArrivalMs: 0, shardId: 'shardId-1' },
    reason: 'not JSON',
  });

  it('sends 10 per call with the reason and the original payload, retrying failed entries', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .callsFakeOnce((input) => ({ Successful: [], Failed: [{ Id: input.Entries[0].Id, SenderFault: false, Code: 'InternalError' }] }))
      .resolves({ Failed: [] });
    const result = await quarantine(new SQSClient({}), 'q', Array.from({ length: 11 }, (_, i) => record(i)), fakeIo().io, new CallCounter());
    expect(result.failed).toEqual([]);
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries!.length).sort()).toEqual([1, 1, 10].sort());
    const body = JSON.parse(calls[0]!.args[0].input.Entries![0]!.MessageBody!);
    expect(body).toMatchObject({ reason: 'not JSON', sequence_number: '0', shard_id: 'shardId-1', payload_truncated: false });
    expect(Buffer.from(body.payload_base64, 'base64').toString()).toBe('bad 0');
  });

  it('keeps a digest and a prefix of a payload too large to carry whole', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
    const big = Buffer.alloc(20_000, 7).toString('base64');
    await quarantine(new SQSClient({}), 'q', [record(1, big)], fakeIo().io, new CallCounter());
    const body = JSON.parse(sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries![0]!.MessageBody!);
    expect(body.payload_truncated).toBe(true);
    expect(body.payload_base64).toHaveLength(1024);
    // The digest of the whole payload's bytes (what the sensor sent), as sha256sum gives it.
    expect(body.payload_sha256).toBe(createHash('sha256').update(Buffer.alloc(20_000, 7)).digest('hex'));
  });
});
