import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { publishAlerts } from '../../handlers/processor/adapters/alert-publisher';
import { backoffMs, CallCounter, isRetryable } from '../../handlers/processor/adapters/aws-calls';
import { quarantine } from '../../handlers/processor/adapters/quarantine';
import { writeItems } from '../../handlers/processor/adapters/readings-writer';
import type { AlertDetail } from '../../handlers/processor/core/alerts';
import type { Item } from '../../handlers/processor/adapters/readings-writer';
import { fakeIo } from '../helpers/fake-io';

const items = (n: number): Item[] =>
  Array.from({ length: n }, (_, i) => ({ sensor_id: { S: `s${i}` }, timestamp: { S: '2026-11-22T12:00:00.000Z' } }));
const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });

describe('io', () => {
  it('retries throttling, timeouts and 5xx, not validation or permission errors', () => {
    expect(isRetryable(throttled())).toBe(true);
    expect(isRetryable({ name: 'TimeoutError' })).toBe(true);
    expect(isRetryable({ name: 'Whatever', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isRetryable({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } })).toBe(false);
    expect(isRetryable({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } })).toBe(false);
  });
  it('backs off with full jitter, capped', () => {
    const { io } = fakeIo(10_000, { random: () => 0.5 });
    expect(backoffMs(io, 0)).toBe(12.5);
    expect(backoffMs(io, 3)).toBe(100);
    expect(backoffMs(io, 20)).toBe(500);
    expect(backoffMs({ ...io, random: () => 0 }, 5)).toBe(0);
  });
});

describe('writeItems', () => {
  const ddb = mockClient(DynamoDBClient);
  beforeEach(() => ddb.reset());
  const client = () => new DynamoDBClient({ region: 'us-east-1' });

  it('writes 25 items per call, several calls in flight', async () => {
    ddb.on(BatchWriteItemCommand).resolves({ UnprocessedItems: {} });
    const counter = new CallCounter();
    const result = await writeItems(client(), 't', items(260), fakeIo().io, counter);
    expect(result).toEqual({ failed: [], retries: 0 });
    expect(counter.counts.BatchWriteItem).toBe(11);
    expect(ddb.commandCalls(BatchWriteItemCommand).map((c) => c.args[0].input.RequestItems!.t!.length)).toContain(25);
  });

  it('retries only the unprocessed items, with backoff', async () => {
    const batch = items(3);
    ddb
      .on(BatchWriteItemCommand)
      .resolvesOnce({ UnprocessedItems: { t: [{ PutRequest: { Item: batch[1]! } }] } })
      .resolves({});
    const { io, sleeps } = fakeIo();
    const result = await writeItems(client(), 't', batch, io, new CallCounter());
    expect(result).toEqual({ failed: [], retries: 1 });
    expect(ddb.commandCalls(BatchWriteItemCommand)[1]!.args[0].input.RequestItems!.t).toEqual([{ PutRequest: { Item: batch[1] } }]);
    expect(sleeps).toEqual([12.5]);
  });

  it('retries throttling until it passes', async () => {
    ddb.on(BatchWriteItemCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({});
    const result = await writeItems(client(), 't', items(5), fakeIo().io, new CallCounter());
    expect(result).toEqual({ failed: [], retries: 2 });
  });

  it('gives back exactly the unwritten items when time runs out', async () => {
    const batch = items(30);
    ddb.on(BatchWriteItemCommand).callsFake((input) => {
      const requests = input.RequestItems.t;
      // The first chunk always leaves its last item unprocessed; the second always throttles.
      if (requests.length === 25 || requests[0].PutRequest.Item.sensor_id.S === 's24') {
        return { UnprocessedItems: { t: [requests[requests.length - 1]] } };
      }
      throw throttled();
    });
    const result = await writeItems(client(), 't', batch, fakeIo(2_000).io, new CallCounter());
    expect(result.failed.sort((a, b) => a - b)).toEqual([24, 25, 26, 27, 28, 29]);
  });

  it('abandons a call that hangs, and reports its items when no time is left', async () => {
    ddb.on(BatchWriteItemCommand).callsFake(() => new Promise(() => undefined));
    const { io } = fakeIo(500, { callTimeoutMs: 30 });
    const result = await writeItems(client(), 't', items(2), io, new CallCounter());
    expect(result.failed).toEqual([0, 1]);
  });

  it('does not retry a validation error', async () => {
    ddb.on(BatchWriteItemCommand).rejects(Object.assign(new Error('bad'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }));
    const result = await writeItems(client(), 't', items(2), fakeIo().io, new CallCounter());
    expect(result).toEqual({ failed: [0, 1], retries: 0 });
    expect(ddb.commandCalls(BatchWriteItemCommand)).toHaveLength(1);
  });
});

const alert = (i: number): AlertDetail => ({
  alert_id: `a${i}`,
  level: 'WARNING',
  previous_level: 'NORMAL',
  sensor_id: `s${i}`,
  zone_id: 'z',
  congestion_index: 85,
  threshold: 80,
  reading_time: '2026-11-22T12:00:00.000Z',
  received_at: 1_700_000_000_000,
  detected_at: '2026-11-22T12:00:01.000Z',
});

describe('publishAlerts', () => {
  const events = mockClient(EventBridgeClient);
  beforeEach(() => events.reset());

  it('sends 10 entries per call and retries only the failed entries', async () => {
    events
      .on(PutEventsCommand)
      .callsFakeOnce((input) => ({
        FailedEntryCount: 1,
        Entries: input.Entries.map((_: unknown, i: number) => (i === 3 ? { ErrorCode: 'ThrottlingException' } : { EventId: `e${i}` })),
      }))
      .callsFake((input) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_: unknown, i: number) => ({ EventId: `r${i}` })) }));
    const counter = new CallCounter();
    const result = await publishAlerts(new EventBridgeClient({}), 'bus', Array.from({ length: 12 }, (_, i) => alert(i)), fakeIo().io, counter);
    expect(result.failed).toEqual([]);
    expect(result.published.size).toBe(12);
    expect(counter.counts.PutEvents).toBe(3);
    const calls = events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length);
    expect(calls.slice(0, 2).sort()).toEqual([10, 2]);
    expect(calls[2]).toBe(1);
    const entry = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({ EventBusName: 'bus', Source: 'tapstack.traffic', DetailType: 'Traffic Congestion Alert' });
    expect(JSON.parse(entry.Detail!).alert_id).toBe('a0');
  });

  it('gives back the alerts still failing when time runs out', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    const result = await publishAlerts(new EventBridgeClient({}), 'bus', [alert(1)], fakeIo(1_000).io, new CallCounter());
    expect(result.failed.map((a) => a.alert_id)).toEqual(['a1']);
  });
});

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
    expect(body.payload_sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
