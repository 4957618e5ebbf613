/**
 * The exactly-once scenarios against moto, with the real AWS SDK: 100 sensors, 6 batches of 220
 * records (2 readings per sensor per batch plus 20 invalid); one batch replayed whole, one
 * delivered twice at once, one delivery overlapping the previous batch with other boundaries —
 * clean, then with 30% of AWS calls throttled and 30% partly failed.
 */
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { KinesisStreamRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_EVENT, ENV } from '../../contract';
import { readConfig, type ProcessorConfig } from '../../handlers/processor/config';
import { processBatch } from '../../handlers/processor/handler';
import { buildClients, processorSinks } from '../../handlers/processor/outputs';
import { processorEnv } from '../../scripts/lib/processor-env';
import { expected, prng, streamRecords, type ModelRecord, type Scenario } from '../helpers/delivery';
import { createRawDeliveryStream, rawObjects, rawReadings } from '../helpers/firehose';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';
import { deployToMoto } from '../helpers/stack';

const SENSORS = 100;
const BATCHES = 6;

/** 100 sensors × 12 readings, congestion crossing both thresholds, and 20 invalid records per batch. */
function scenario(label: string, startMs: number, firstSequence: bigint): Scenario {
  const records: ModelRecord[] = [];
  const congestion = (sensor: number, i: number) => [40, 60, 85, 93, 97, 88, 80, 70, 55, 91, 45, 30][(i + sensor) % 12]!;
  for (let batch = 0; batch < BATCHES; batch++) {
    for (let k = 0; k < 2; k++) {
      const i = batch * 2 + k;
      for (let s = 0; s < SENSORS; s++) {
        const at = startMs + i * 1_000 + s;
        // Each run its own sensors: the alert state of one run must not be the start of the other's.
        const sensor = `${label}-sensor-${String(s).padStart(3, '0')}`;
        records.push({
          reading: {
            sensor_id: sensor,
            zone_id: `zone-${s % 10}`,
            timestamp: new Date(at).toISOString(),
            vehicle_count: (s + i) % 30,
            avg_speed: 20 + ((s * 3 + i) % 50) + 0.25,
            congestion_index: congestion(s, i),
            received_at: at + 40,
            thing_name: sensor,
          },
        });
      }
    }
    for (let j = 0; j < 20; j++) records.push({ invalid: j % 2 ? `not json ${batch}-${j}` : JSON.stringify({ sensor_id: `bad-${j}`, vehicle_count: -1 }) });
  }
  return { records, firstSequence };
}

/** A client whose calls fail: throttled before they reach AWS, or (batch calls) only partly taken. */
/**
 * One DynamoDB request at a time. DynamoDB applies a conditional write's check and write
 * atomically; moto does not under concurrent requests (two conditional updates on one item can
 * both succeed: seen as 303 wins in 300 rounds), which would count a concurrent delivery's readings
 * or alerts twice for moto's reason, not ours. Serialising requests restores the service's
 * atomicity while the two deliveries still interleave call by call; the raced case at request level
 * is the in-memory property's (tests/unit/exactly-once.test.ts).
 */
function serialized<T extends { send: (...args: any[]) => Promise<any> }>(client: T, queue: { tail: Promise<unknown> }): T {
  const send = client.send.bind(client);
  client.send = ((...args: any[]) => {
    const run = queue.tail.then(() => send(...args));
    queue.tail = run.catch(() => undefined);
    return run;
  }) as T['send'];
  return client;
}

function faulty<T extends { send: (...args: any[]) => Promise<any> }>(client: T, rate: Rate, random: () => number): T {
  const send = client.send.bind(client);
  client.send = (async (command: { constructor: { name: string }; input: any }, options?: unknown) => {
    // An answer lost after EventBridge took the events (the delivery contract's first limit).
    if (command.constructor.name === 'PutEventsCommand' && random() < rate.lostAnswer) {
      await send(command, options);
      throw Object.assign(new Error('Socket hang up after the request was taken (injected)'), { name: 'TimeoutError' });
    }
    const x = random();
    if (x < rate.throttle) {
      throw Object.assign(new Error('Rate exceeded (injected)'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    }
    if (x < rate.throttle + rate.partial) {
      const input = command.input;
      const name = command.constructor.name;
      if (name === 'SendMessageBatchCommand' && input.Entries.length > 1) {
        const [taken, left] = [input.Entries.slice(0, 1), input.Entries.slice(1)];
        const out = await send(new (command.constructor as any)({ ...input, Entries: taken }), options);
        return { ...out, Failed: [...(out.Failed ?? []), ...left.map((e: { Id: string }) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false }))] };
      }
      if (name === 'PutEventsCommand' && input.Entries.length > 1) {
        const out = await send(new (command.constructor as any)({ ...input, Entries: input.Entries.slice(0, 1) }), options);
        const failed = input.Entries.slice(1).map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'injected' }));
        return { FailedEntryCount: (out.FailedEntryCount ?? 0) + failed.length, Entries: [...(out.Entries ?? []), ...failed] };
      }
      if (name === 'BatchGetItemCommand') {
        const [table, request] = Object.entries(input.RequestItems as Record<string, { Keys: unknown[] }>)[0]!;
        if (request.Keys.length > 1) {
          const out = await send(new (command.constructor as any)({ RequestItems: { [table]: { ...request, Keys: request.Keys.slice(0, 1) } } }), options);
          return { ...out, UnprocessedKeys: { [table]: { ...request, Keys: request.Keys.slice(1) } } };
        }
      }
    }
    return send(command, options);
  }) as T['send'];
  return client;
}

/** Injected faults: calls throttled, batches partly failed, PutEvents answers lost after the events were taken. */
interface Rate {
  throttle: number;
  partial: number;
  lostAnswer: number;
}

describe('exactly once against moto (100 sensors, 6 batches of 220 records)', () => {
  let moto: Moto;
  let physicalIds: Record<string, string>;
  let aws: ReturnType<typeof motoClientConfig>;
  /** The processor's call timeout, from moto's latency on this machine at the start (callTimeoutFromLatency). */
  let callTimeoutMs = 30_000;

  beforeAll(async () => {
    moto = await startMoto();
    aws = motoClientConfig(moto.endpoint);
    ({ physicalIds } = await deployToMoto(moto.endpoint, 'tapstack-once', {
      EnvironmentSuffix: 'once',
      ThrowawayEnvironment: 'true',
      KinesisShardCount: '1',
      ProcessorReservedConcurrency: '2',
      // 100 sensors, 25 to a console status item: each batch writes a few small items (moto's
      // UpdateItem time grows with the square of its assignments).
      SensorStatusItems: '4',
    }));
    callTimeoutMs = await callTimeoutFromLatency();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  /** A fresh bus observed through an SQS queue (moto cannot deliver the stack's rule to SNS), and fresh tables' names. */
  async function observedBus(name: string): Promise<{ bus: string; queueUrl: string }> {
    const events = new EventBridgeClient(aws);
    const sqs = new SQSClient(aws);
    await events.send(new CreateEventBusCommand({ Name: name }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await events.send(new PutRuleCommand({ Name: name, EventBusName: name, EventPattern: JSON.stringify({ source: [ALERT_EVENT.source] }) }));
    await events.send(new PutTargetsCommand({ Rule: name, EventBusName: name, Targets: [{ Id: 'q', Arn: Attributes!.QueueArn! }] }));
    return { bus: name, queueUrl: QueueUrl! };
  }

  /** Every message of a queue, deleted as read (a FIFO queue hands out a message group's next messages only then). */
  async function drain(queueUrl: string): Promise<string[]> {
    const sqs = new SQSClient(aws);
    const bodies: string[] = [];
    for (let empty = 0; empty < 2; ) {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }));
      if (!Messages?.length) {
        empty++;
        continue;
      }
      bodies.push(...Messages.map((m) => m.Body!));
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    }
    return bodies;
  }

  /**
   * The processor's call timeout for this machine as it is now: 100 times the slowest of 10
   * PutEvents to moto (the call whose lost answer repeats an alert), and never under 30 s. A timeout
   * cut short by a loaded machine turns answers moto gave into lost ones.
   */
  async function callTimeoutFromLatency(): Promise<number> {
    const events = new EventBridgeClient(aws);
    const ms: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      await events.send(new PutEventsCommand({ Entries: [{ Source: 'tapstack.calibration', DetailType: 'calibration', Detail: '{}' }] }));
      ms.push(Date.now() - started);
    }
    events.destroy();
    const timeout = Math.max(30_000, 100 * Math.max(...ms));
    console.log(`exactly once against moto: PutEvents ${Math.min(...ms)}-${Math.max(...ms)} ms here, call timeout ${timeout} ms`);
    return timeout;
  }

  /**
   * Runs the schedule: each batch delivered (retried from the lowest failed record until it all
   * succeeds); batch 2 replayed whole after batch 3; batch 4 delivered twice at once; after batch
   * 5, a delivery of its second half and the first half of batch 6, then batch 6.
   */
  async function run(label: string, rate: Rate) {
    const observed = await observedBus(`observed-${label}`);
    const lake = await createRawDeliveryStream(aws, `raw-${label}`);
    // Each run writes its own readings (a minute apart), so the runs do not share windows.
    const start = Math.floor(Date.now() / 60_000) * 60_000 - (label === 'clean' ? 120_000 : 60_000);
    const s = scenario(label, start, label === 'clean' ? 0n : 1_000_000n);
    const records = streamRecords(s);
    const config: ProcessorConfig = readConfig(
      processorEnv({ ...physicalIds, AlertBus: observed.bus, DeliveryStream: lake.deliveryStreamName }, { metricsNamespace: 'TapStack/once', overrides: { [ENV.alertCooldownSeconds]: '0' } }),
    );
    const random = prng(label.length * 7919);
    // Both containers' DynamoDB requests go through one queue.
    const dynamoQueue = { tail: Promise.resolve() as Promise<unknown> };
    const clients = () =>
      buildClients(
        () => ({ ...aws, maxAttempts: 1 }),
        (client, name) => faulty(name === 'dynamodb' ? serialized(client, dynamoQueue) : client, rate, random),
      );
    const containers = [processorSinks(config, clients()), processorSinks(config, clients())];
    let invocations = 0;
    /** Alerts the processor logged as possibly published twice: their PutEvents went unanswered, or they were released unconfirmed. */
    const unconfirmed = new Set<string>();
    const write = (line: string) => {
      if (!line.includes('Alerts not confirmed published') && !line.includes('PutEvents unanswered')) return;
      for (const id of (JSON.parse(line) as { alert_ids?: string[] }).alert_ids ?? []) unconfirmed.add(id);
    };
    const invoke = async (batch: KinesisStreamRecord[]) => {
      const outcome = await processBatch({ Records: batch }, { getRemainingTimeInMillis: () => 300_000 }, {
        config,
        sinks: containers[invocations++ % 2]!,
        write,
        // moto is one Python process answering ~100 writes a second: fewer calls at once, more patience.
        io: { backoffBaseMs: 5, backoffCapMs: 50, concurrency: 8, callTimeoutMs },
      });
      return outcome.response.batchItemFailures.map((f) => f.itemIdentifier);
    };
    /** Delivers until every record of the batch is through, resuming from the lowest failed one. */
    const deliverAll = async (batch: KinesisStreamRecord[]) => {
      for (let rest = batch; rest.length > 0; ) {
        const failed = await invoke(rest);
        if (failed.length === 0) return;
        rest = rest.slice(Math.min(...failed.map((id) => rest.findIndex((r) => r.kinesis.sequenceNumber === id))));
      }
    };
    const size = 220;
    const batch = (i: number) => records.slice(i * size, (i + 1) * size);
    for (let i = 0; i < BATCHES; i++) {
      if (i === 4) await Promise.all([deliverAll(batch(i)), deliverAll(batch(i))]);
      else await deliverAll(batch(i));
      if (i === 3) await deliverAll(batch(2));
      // A delivery over the second half of batch 4 and the first half of batch 5.
      if (i === 4) await deliverAll(records.slice(4 * size + size / 2, 5 * size + size / 2));
    }

    const want = expected(s, config);
    const ddb = new DynamoDBClient(aws);
    const items: Record<string, any>[] = [];
    for await (const page of paginateScan({ client: ddb }, { TableName: config.readingsTableName })) items.push(...(page.Items ?? []));
    const mine = items.filter((i) => want.windows.has(`${i.sensor_id.S} ${i.timestamp.S}`) || Date.parse(i.timestamp.S) >= start && Date.parse(i.timestamp.S) < start + 60_000);
    const details = (await drain(observed.queueUrl)).map((b) => JSON.parse(b).detail as { alert_id: string });
    const alerts = details.map((d) => d.alert_id);
    const quarantined = await drain(config.quarantineQueueUrl);
    const lakeReadings = rawReadings(await rawObjects(aws, lake.bucket)).map((r) => `${r.sensor_id} ${r.timestamp}`);
    return { want, mine, alerts, unconfirmed, quarantined, invocations, lakeReadings,
      validKeys: s.records.flatMap((r) => ('reading' in r ? [`${r.reading.sensor_id} ${r.reading.timestamp}`] : [])), valid: s.records.filter((r) => 'reading' in r).length, invalid: s.records.filter((r) => 'invalid' in r).length };
  }

  it.each([
    ['clean', { throttle: 0, partial: 0, lostAnswer: 0 }],
    ['faulty', { throttle: 0.3, partial: 0.3, lostAnswer: 0.1 }],
  ] as const)('%s: every reading counted once, every transition published (again only where its answer was lost), every invalid record quarantined once', async (label, rate) => {
    const { want, mine, alerts, unconfirmed, quarantined, valid, invalid, invocations, lakeReadings, validKeys } = await run(label, rate);
    const counted = mine.reduce((n, i) => n + Number(i.reading_count.N), 0);
    const short = mine.filter((i) => Number(i.reading_count.N) < (want.windows.get(`${i.sensor_id.S} ${i.timestamp.S}`)?.length ?? 0));
    const extra = mine.filter((i) => !want.windows.has(`${i.sensor_id.S} ${i.timestamp.S}`));
    const figures = {
      readingsCounted: counted,
      validReadings: valid,
      itemsWithTooFewReadings: short.length,
      extraItems: extra.length,
      alertMessages: alerts.length,
      distinctAlertIds: new Set(alerts).size,
      transitionsThatHappened: want.alertIds.length,
      // Repeats, and the alerts the processor logged as not confirmed (the only ones that may repeat).
      repeatedAlertIds: [...new Set(alerts.filter((id, i) => alerts.indexOf(id) !== i))],
      unconfirmedAlerts: unconfirmed.size,
      quarantineMessages: quarantined.length,
      invalidRecords: invalid,
      invocations,
      // The raw-data lake is at least once: every valid reading, some more than once after retries.
      lakeReadings: lakeReadings.length,
      lakeDistinctReadings: new Set(lakeReadings).size,
    };
    // The table, measured again (printed for the README and the closing note).
    console.log(`exactly once against moto, ${label}: ${JSON.stringify(figures)}`);
    expect(figures).toMatchObject({
      readingsCounted: valid,
      itemsWithTooFewReadings: 0,
      extraItems: 0,
      distinctAlertIds: want.alertIds.length,
      quarantineMessages: invalid,
    });
    // No transition lost, none invented: the alerts received are exactly the transitions.
    expect([...new Set(alerts)].sort()).toEqual([...want.alertIds].sort());
    // No repeat beyond the delivery contract's lost-answer limit: an alert comes twice only if the
    // processor logged its PutEvents as unanswered (a call EventBridge may have taken).
    expect(figures.repeatedAlertIds.filter((id) => !unconfirmed.has(id))).toEqual([]);
    expect([...new Set(lakeReadings)].sort()).toEqual([...validKeys].sort());
  }, 600_000);
});
