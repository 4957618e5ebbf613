import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { publishAlerts } from '../../handlers/processor/adapters/alert-publisher';
import { backoffMs, call, CallCounter, CallLatency, isRetryable, sendInChunks, shareOfTimeLeft, waitForRetry } from '../../handlers/processor/adapters/aws-calls';
import { writeConditionally } from '../../handlers/processor/adapters/conditional-writes';
import { DynamoDBClient, TransactWriteItemsCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { quarantine } from '../../handlers/processor/adapters/quarantine';
import type { AlertDetail } from '../../handlers/processor/core/alerts';
import { fakeIo } from '../helpers/fake-io';

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

describe('sendInChunks (the batch APIs\' shared retry loop)', () => {
  const entries = (n: number) => Array.from({ length: n }, (_, i) => i);
  /** A batch call: `fails(entry)` entries come back unprocessed; a throw fails them all. */
  const send = (calls: number[][], behaviour: (pending: number[]) => number[] | Promise<number[]>) => async (pending: number[]) => {
    calls.push(pending);
    return behaviour(pending);
  };

  it('sends chunks of the batch limit, several in flight', async () => {
    const calls: number[][] = [];
    const result = await sendInChunks(fakeIo().io, 'Op', entries(260), 25, send(calls, () => []));
    expect(result).toEqual({ failed: [], retries: 0 });
    expect(calls).toHaveLength(11);
    expect(calls.map((c) => c.length)).toContain(25);
  });

  it('retries only the entries not taken, with backoff', async () => {
    const calls: number[][] = [];
    let first = true;
    const { io, sleeps } = fakeIo();
    const result = await sendInChunks(io, 'Op', entries(3), 25, send(calls, (p) => (first ? ((first = false), [p[1]!]) : [])));
    expect(result).toEqual({ failed: [], retries: 1 });
    expect(calls[1]).toEqual([1]);
    expect(sleeps).toEqual([12.5]);
  });

  it('retries throttling until it passes', async () => {
    let throttles = 2;
    const result = await sendInChunks(fakeIo().io, 'Op', entries(5), 25, async () => {
      if (throttles-- > 0) throw throttled();
      return [];
    });
    expect(result).toEqual({ failed: [], retries: 2 });
  });

  it('gives back exactly the entries not taken when time runs out', async () => {
    // The first chunk always leaves its last entry; the second always throttles.
    const result = await sendInChunks(fakeIo(2_000).io, 'Op', entries(30), 25, async (pending) => {
      if (pending.length === 25 || pending[0] === 24) return [pending[pending.length - 1]!];
      throw throttled();
    });
    expect(result.failed.sort((a, b) => a - b)).toEqual([24, 25, 26, 27, 28, 29]);
  });

  it('abandons a call that hangs, and gives its entries back when no time is left', async () => {
    const { io } = fakeIo(500, { callTimeoutMs: 30 });
    const result = await sendInChunks(io, 'Op', entries(2), 25, () => new Promise(() => undefined));
    expect(result.failed).toEqual([0, 1]);
  });

  it('does not retry a validation error, and logs it', async () => {
    const logged: string[] = [];
    const calls: number[][] = [];
    const { io } = fakeIo(10_000, { log: (_level, message) => logged.push(message) });
    const result = await sendInChunks(io, 'Op', entries(2), 25, async (pending) => {
      calls.push(pending);
      throw Object.assign(new Error('bad'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    });
    expect(result).toEqual({ failed: [0, 1], retries: 0 });
    expect(calls).toHaveLength(1);
    expect(logged).toEqual(['Op failed, not retryable']);
  });
});

describe('time budgets (from the time left, not a fixed call timeout)', () => {
  it('times a call out at the deadline when less than the call timeout is left', async () => {
    const { io } = fakeIo(40, { callTimeoutMs: 3_000 });
    const started = Date.now();
    await expect(call(io, () => new Promise(() => undefined))).rejects.toMatchObject({ name: 'CallTimeoutError', message: 'AWS call exceeded 40 ms' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('retries while a call can still answer before the deadline, however short the time left, as long as this invocation\'s calls took', async () => {
    // 300 ms left: the old rule (a whole 3 s call timeout must fit) refused every retry.
    const { io, advance } = fakeIo(300, { callTimeoutMs: 3_000, random: () => 0, latency: new CallLatency() });
    expect(await waitForRetry(io, 0)).toBe(true);
    io.latency!.observe(250);
    advance(100);
    // 200 ms left, calls have taken 250 ms: no retry.
    expect(await waitForRetry(io, 0)).toBe(false);
  });

  it('gives a step its share of the time left', () => {
    const { io } = fakeIo(8_000);
    expect(shareOfTimeLeft(io, 1 / 4).deadlineMs - io.now()).toBe(2_000);
    expect(shareOfTimeLeft(shareOfTimeLeft(io, 1 / 2), 2).deadlineMs - io.now()).toBe(4_000);
  });
});

describe('writeConditionally (TransactWriteItems, one outcome per write)', () => {
  const ddb = mockClient(DynamoDBClient);
  const client = new DynamoDBClient({});
  const write = (i: number): TransactWriteItem => ({ Put: { TableName: 't', Item: { pk: { S: `k${i}` } }, ConditionExpression: 'attribute_not_exists(pk)' } });
  const sent = () => ddb.commandCalls(TransactWriteItemsCommand).map((c) => c.args[0].input.TransactItems!.map((w) => w.Put!.Item!.pk!.S));
  const cancelled = (codes: (string | { Code: string; Item?: object })[]) =>
    Object.assign(new Error('Transaction cancelled'), {
      name: 'TransactionCanceledException',
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: codes.map((c) => (typeof c === 'string' ? { Code: c } : c)),
    });
  beforeEach(() => ddb.reset());

  it('sends 100 writes per call and answers each written', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});
    const counter = new CallCounter();
    const outcomes = await writeConditionally(client, Array.from({ length: 250 }, (_, i) => write(i)), fakeIo().io, counter);
    expect(outcomes.every((o) => o.kind === 'written')).toBe(true);
    expect(sent().map((c) => c.length)).toEqual([100, 100, 50]);
    expect(counter.counts).toEqual({ TransactWriteItems: 3 });
  });

  it('answers a failed condition as a conflict with the stored item, and sends the writes cancelled only for it again at once', async () => {
    ddb.on(TransactWriteItemsCommand).rejectsOnce(cancelled(['None', { Code: 'ConditionalCheckFailed', Item: { pk: { S: 'k1' }, v: { N: '7' } } }, 'None'])).resolves({});
    const { io, sleeps } = fakeIo();
    const outcomes = await writeConditionally(client, [write(0), write(1), write(2)], io, new CallCounter());
    expect(outcomes).toEqual([{ kind: 'written' }, { kind: 'conflict', item: { pk: { S: 'k1' }, v: { N: '7' } } }, { kind: 'written' }]);
    expect(sent()).toEqual([['k0', 'k1', 'k2'], ['k0', 'k2']]);
    expect(sleeps).toEqual([]);
  });

  it('keeps a write throttled in every transaction from holding back the others', async () => {
    ddb.on(TransactWriteItemsCommand).callsFake((input: { TransactItems: TransactWriteItem[] }) => {
      const codes = input.TransactItems.map((w) => (w.Put!.Item!.pk!.S === 'k1' ? 'ThrottlingError' : 'None'));
      if (codes.includes('ThrottlingError')) throw cancelled(codes);
      return {};
    });
    const outcomes = await writeConditionally(client, [write(0), write(1), write(2)], fakeIo(1_000).io, new CallCounter());
    expect(outcomes.map((o) => o.kind)).toEqual(['written', 'failed', 'written']);
  });

  it('retries a call throttled or timed out as a whole, with backoff, until the deadline', async () => {
    ddb.on(TransactWriteItemsCommand).rejectsOnce(throttled()).resolves({});
    const { io, sleeps } = fakeIo();
    expect((await writeConditionally(client, [write(0)], io, new CallCounter())).map((o) => o.kind)).toEqual(['written']);
    expect(sleeps).toHaveLength(1);
    ddb.reset();
    ddb.on(TransactWriteItemsCommand).rejects(throttled());
    expect((await writeConditionally(client, [write(0)], fakeIo(500).io, new CallCounter())).map((o) => o.kind)).toEqual(['failed']);
  });

  it('does not retry a write refused for good (a validation error)', async () => {
    ddb.on(TransactWriteItemsCommand).rejects(cancelled(['ValidationError', 'None']));
    ddb.on(TransactWriteItemsCommand, { TransactItems: [write(1)] }).resolves({});
    const outcomes = await writeConditionally(client, [write(0), write(1)], fakeIo().io, new CallCounter());
    expect(outcomes.map((o) => o.kind)).toEqual(['failed', 'written']);
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
