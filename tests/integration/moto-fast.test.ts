/**
 * The simulator's moto launcher (scripts/simulate/moto_server_fast.py) answers as plain moto_server
 * does: the same sequence of the processor's TransactWriteItems, some cancelled by a failed
 * condition, some refused, against both, leaves the same items and the same answers.
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand, ScanCommand, TransactWriteItemsCommand, UpdateItemCommand, type AttributeValue, type TransactWriteItem, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';
import { ROOT } from '../../scripts/lib/paths';

const put = (pk: string, v: number, condition?: string): TransactWriteItem => ({
  Put: {
    TableName: 't',
    Item: { pk: { S: pk }, sk: { S: 'w' }, v: { N: String(v) }, tags: { SS: ['x', String(v)] }, raw: { B: new Uint8Array([v, 0, 255]) }, ok: { BOOL: v > 1 } },
    ...(condition ? { ConditionExpression: condition, ExpressionAttributeNames: { '#pk': 'pk' } } : {}),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  },
});
const update = (pk: string, known: number): TransactWriteItem => ({
  Update: {
    TableName: 't',
    Key: { pk: { S: pk }, sk: { S: 'w' } },
    UpdateExpression: 'SET v = :next ADD offsets :o',
    ConditionExpression: 'v = :known',
    ExpressionAttributeValues: { ':next': { N: String(known + 1) }, ':known': { N: String(known) }, ':o': { NS: [String(known)] } },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  },
});

/** Transactions in order: written, cancelled by a condition (after writes it must undo), refused (two actions on one item). */
const SEQUENCE: TransactWriteItem[][] = [
  [put('a', 1, 'attribute_not_exists(#pk)'), put('b', 1, 'attribute_not_exists(#pk)')],
  [update('a', 1), put('c', 1), put('b', 5, 'attribute_not_exists(#pk)')],
  [update('a', 1), update('b', 1)],
  [put('d', 1), update('a', 9)],
  [put('e', 1), put('e', 2)],
  [update('a', 2), update('b', 2)],
  // A Put over a stored item, cancelled: the stored item stays as it was (the launcher keeps the object, not a copy).
  [put('a', 7), update('b', 99)],
  [put('f', 1, 'attribute_not_exists(#pk)'), put('a', 8, 'attribute_not_exists(#pk)')],
];

async function play(moto: Moto) {
  const client = new DynamoDBClient({ ...motoClientConfig(moto.endpoint), maxAttempts: 1 });
  await client.send(
    new CreateTableCommand({
      TableName: 't',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    }),
  );
  const answers: unknown[] = [];
  for (const items of SEQUENCE) {
    try {
      await client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      answers.push('written');
    } catch (error) {
      const e = error as { name: string; CancellationReasons?: { Code?: string; Item?: unknown }[] };
      answers.push({ name: e.name, reasons: e.CancellationReasons?.map((r) => ({ code: r.Code, item: r.Item })) });
    }
  }
  const items = ((await client.send(new ScanCommand({ TableName: 't' }))).Items ?? []).sort((x, y) => x.pk!.S!.localeCompare(y.pk!.S!));
  // The same filter expression with other values (the launcher's parsed conditions are keyed by all three).
  const filtered: unknown[] = [];
  for (const v of ['3', '1', '3', '8']) {
    const out = await client.send(new ScanCommand({ TableName: 't', FilterExpression: 'v = :v', ExpressionAttributeValues: { ':v': { N: v } } }));
    filtered.push((out.Items ?? []).map((i) => i.pk!.S).sort());
  }
  client.destroy();
  return { answers, items, filtered };
}

/**
 * UpdateItems as the console's status sink sends them (one SET of many sensors), and the invalid
 * expressions the launcher's validation shortcut must still refuse as moto does: two SET clauses, a
 * path set twice (nested in a long list), a key attribute. Answers and the item they leave.
 */
async function updates(moto: Moto) {
  const client = new DynamoDBClient({ ...motoClientConfig(moto.endpoint), maxAttempts: 1 });
  await client.send(
    new CreateTableCommand({ TableName: 'u', BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }),
  );
  const sets = (n: number, from = 0) => {
    const names: Record<string, string> = {};
    const values: Record<string, { S: string }> = {};
    for (let i = from; i < from + n; i++) {
      names[`#n${i}`] = `sensor-${i}`;
      values[`:v${i}`] = { S: `zone-${i % 7}|${i}|1|30|1765094400000|1765094399600` };
    }
    return { names, values, actions: Object.keys(names).map((n) => `${n} = :v${n.slice(2)}`) };
  };
  const long = sets(150);
  const more = sets(40, 100);
  const expressions: { UpdateExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Record<string, { S: string }> }[] = [
    { UpdateExpression: `SET ${long.actions.join(', ')}`, ExpressionAttributeNames: long.names, ExpressionAttributeValues: long.values },
    { UpdateExpression: `SET ${more.actions.join(', ')}`, ExpressionAttributeNames: more.names, ExpressionAttributeValues: more.values },
    { UpdateExpression: `SET ${long.actions.slice(0, 20).join(', ')} SET #x = :v0`, ExpressionAttributeNames: { ...long.names, '#x': 'x' }, ExpressionAttributeValues: long.values },
    { UpdateExpression: `SET ${long.actions.slice(0, 20).join(', ')}, #n3 = :v4`, ExpressionAttributeNames: long.names, ExpressionAttributeValues: long.values },
    { UpdateExpression: `SET ${long.actions.slice(0, 20).join(', ')} REMOVE #x ADD #y :one REMOVE #z`, ExpressionAttributeNames: { ...long.names, '#x': 'x', '#y': 'y', '#z': 'z' }, ExpressionAttributeValues: { ...long.values, ':one': { S: '1' } } },
    { UpdateExpression: 'SET #k = :v0', ExpressionAttributeNames: { '#k': 'pk' }, ExpressionAttributeValues: { ':v0': long.values[':v0']! } },
  ];
  return playUpdates(client, 'u', expressions);
}

/** UpdateItems of one item (pk 'b') in order: each answer (written, or the error's name and message) and the item they leave. */
async function playUpdates(client: DynamoDBClient, table: string, calls: Omit<UpdateItemCommandInput, 'TableName' | 'Key'>[]) {
  const answers: unknown[] = [];
  for (const call of calls) {
    try {
      await client.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: 'b' } }, ...call }));
      answers.push('written');
    } catch (error) {
      answers.push({ name: (error as Error).name, message: (error as Error).message });
    }
  }
  const item = (await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'b' } } }))).Item;
  client.destroy();
  return { answers, item };
}

/**
 * UpdateItems that exercise the launcher's item sizing, parse cache and tree copies (patch 11): an
 * item of every kind of value (strings, numbers, booleans, null, sets, a map, a list, binary)
 * pushed towards DynamoDB's item size limit by SETs of a top-level attribute (moto refuses the
 * update that would pass it, counting a replaced value twice), nested paths, functions and
 * arithmetic, the same expressions sent again (answered from the parse cache), and an expression
 * that does not parse, twice. Answers and the item they leave.
 */
async function sizedUpdates(moto: Moto) {
  const client = new DynamoDBClient({ ...motoClientConfig(moto.endpoint), maxAttempts: 1 });
  await client.send(
    new CreateTableCommand({ TableName: 's', BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }),
  );
  const names = { '#a': 'a', '#n': 'n', '#b': 'b', '#z': 'z', '#ss': 'ss', '#m': 'm', '#l': 'l', '#bin': 'bin', '#k': 'k', '#x': 'x', '#u': 'é' };
  type Values = Record<string, AttributeValue>;
  const every = (text: string, n: string): Values => ({
    ':a': { S: text },
    ':n': { N: n },
    ':b': { BOOL: true },
    ':z': { NULL: true },
    ':ss': { SS: ['x', 'yy', 'zzz'] },
    ':m': { M: { k: { S: 'v' }, deep: { L: [{ N: '1' }, { S: 'two' }] } } },
    ':l': { L: [{ S: 'a' }, { N: '2' }] },
    ':bin': { B: new Uint8Array([1, 2, 3, 250]) },
    ':u': { S: 'é'.repeat(3000) },
  });
  const setEvery = 'SET #a = :a, #n = :n, #b = :b, #z = :z, #ss = :ss, #m = :m, #l = :l, #bin = :bin, #u = :u';
  const calls: { UpdateExpression: string; ExpressionAttributeValues?: Values; ExpressionAttributeNames?: Record<string, string> }[] = [
    { UpdateExpression: setEvery, ExpressionAttributeValues: every('é'.repeat(100_000), '12345.678') },
    { UpdateExpression: setEvery, ExpressionAttributeValues: every('e'.repeat(150_000), '-7.25') },
    // Replacing #a: moto counts the stored value and the new one; from 100,000 stored, a ladder down
    // in steps of 1,000 bytes finds its limit (one byte miscounted per character of #u moves it).
    ...[100_000, ...Array.from({ length: 15 }, (_, i) => 306_000 - i * 1000)].map((size) => ({ UpdateExpression: 'SET #a = :a', ExpressionAttributeValues: { ':a': { S: 'x'.repeat(size) } } })),
    { UpdateExpression: 'SET #m.#k = :v, #n = #n + :one, #x = if_not_exists(#x, :v) ADD #ss :add REMOVE #z', ExpressionAttributeValues: { ':v': { S: 'new' }, ':one': { N: '1' }, ':add': { SS: ['w'] } } },
    { UpdateExpression: 'SET #l = list_append(#l, :more)', ExpressionAttributeValues: { ':more': { L: [{ BOOL: false }] } } },
    { UpdateExpression: 'SET #l[1] = :v', ExpressionAttributeValues: { ':v': { S: 'again' } } },
    { UpdateExpression: 'SET #m.#k = :v, #n = #n + :one, #x = if_not_exists(#x, :v) ADD #ss :add REMOVE #z', ExpressionAttributeValues: { ':v': { S: 'again' }, ':one': { N: '2' }, ':add': { SS: ['v'] } } },
    { UpdateExpression: 'SET #n = #n +', ExpressionAttributeValues: { ':v': { S: 'x' } } },
    { UpdateExpression: 'SET #n = #n +', ExpressionAttributeValues: { ':v': { S: 'x' } } },
  ];
  // Each call names only the attributes its expression uses (moto refuses unused names).
  return playUpdates(client, 's', calls.map((call) => ({ ExpressionAttributeNames: Object.fromEntries(Object.entries(names).filter(([k]) => call.UpdateExpression.includes(k))), ...call })));
}


/**
 * The simulator's alert tap (phases/alert-tap.ts): a rule on a bus with an SQS queue as its target,
 * no InputTransformer, so moto fills the target's input through its eight default paths (patch: each
 * path parsed once, even by concurrent requests). 16 PutEvents sent at once, as the processor's four
 * lanes send their first alerts (40 of 10 entries there; fewer and smaller here, because plain
 * moto_server parses the paths again for every event, ~0.1 s each); every message the queue then holds, without the
 * ids and times moto makes for each event, in a stable order.
 */
async function deliveredEvents(moto: Moto) {
  const config = { ...motoClientConfig(moto.endpoint), maxAttempts: 1 };
  const events = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'alerts' }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await events.send(new CreateEventBusCommand({ Name: 'bus' }));
  await events.send(new PutRuleCommand({ Name: 'alerts', EventBusName: 'bus', EventPattern: JSON.stringify({ source: ['tapstack.traffic'] }) }));
  await events.send(new PutTargetsCommand({ Rule: 'alerts', EventBusName: 'bus', Targets: [{ Id: 'tap', Arn: Attributes!.QueueArn! }] }));
  const answers = await Promise.all(
    Array.from({ length: 16 }, (_, call) =>
      events.send(
        new PutEventsCommand({
          Entries: Array.from({ length: 3 }, (_, i) => ({
            EventBusName: 'bus',
            Source: call % 8 === 7 ? 'someone.else' : 'tapstack.traffic',
            DetailType: 'Traffic Congestion Alert',
            Detail: JSON.stringify({ alert_id: `a-${call}-${i}`, level: 'CRITICAL', congestion_index: 90 + i }),
          })),
        }),
      ),
    ),
  );
  const bodies: unknown[] = [];
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!Messages?.length) break;
    for (const m of Messages) {
      const { id: _id, time: _time, ...rest } = JSON.parse(m.Body!) as Record<string, unknown>;
      bodies.push(rest);
    }
  }
  events.destroy();
  sqs.destroy();
  const sorted = bodies.map((b) => JSON.stringify(b)).sort();
  return { failed: answers.map((a) => a.FailedEntryCount ?? 0), delivered: sorted };
}

/**
 * Updates of the simple form the launcher applies without moto's validators (patch 16: SET of
 * top-level attributes to values, REMOVE of top-level attributes), and each way such an update can
 * be refused, on a table whose index keys are attribute definitions (`g`, `t`) as the alert state
 * table's are: a value of the wrong type or an empty string for an index key written unescaped
 * (moto checks the name as written), the table's key, a reserved word, an undefined name or value,
 * an attribute named twice, two SET clauses, and the item size limit reached by a SET before or
 * after a REMOVE frees room (moto's order). Then a transaction of such Updates, one failing its
 * condition (ALL_OLD). Answers and the items they leave.
 */
async function simpleUpdates(moto: Moto) {
  const client = new DynamoDBClient({ ...motoClientConfig(moto.endpoint), maxAttempts: 1 });
  await client.send(
    new CreateTableCommand({
      TableName: 'g',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'g', AttributeType: 'S' },
        { AttributeName: 't', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [{ IndexName: 'byG', KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }, { AttributeName: 't', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
    }),
  );
  type Values = Record<string, AttributeValue>;
  const big = (n: number) => ({ S: 'x'.repeat(n) });
  const calls: { UpdateExpression: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Values }[] = [
    { UpdateExpression: 'SET #a = :a, b = :b, g = :g, t = :t, #m = :m REMOVE #c, d', ExpressionAttributeNames: { '#a': 'a', '#c': 'c', '#m': 'm' }, ExpressionAttributeValues: { ':a': { S: 'one' }, ':b': { N: '2' }, ':g': { S: 'bucket-1' }, ':t': { S: '2026-12-07T00:00:00Z' }, ':m': { M: { x: { N: '1' }, y: { L: [{ S: 'z' }] } } } } },
    { UpdateExpression: 'SET c = :c, d = :d, s = :s', ExpressionAttributeValues: { ':c': { S: 'c' }, ':d': { BOOL: true }, ':s': { SS: ['p', 'q'] } } },
    { UpdateExpression: 'REMOVE c, d SET a = :a, #gg = :g', ExpressionAttributeNames: { '#gg': 'g' }, ExpressionAttributeValues: { ':a': { S: 'two' }, ':g': { S: 'bucket-2' } } },
    { UpdateExpression: 'REMOVE c SET a = :a REMOVE d', ExpressionAttributeValues: { ':a': { S: 'three' } } },
    { UpdateExpression: 'SET g = :g', ExpressionAttributeValues: { ':g': { N: '5' } } },
    { UpdateExpression: 'SET g = :g', ExpressionAttributeValues: { ':g': { S: '' } } },
    { UpdateExpression: 'SET #k = :v', ExpressionAttributeNames: { '#k': 'pk' }, ExpressionAttributeValues: { ':v': { S: 'other' } } },
    { UpdateExpression: 'SET size = :v', ExpressionAttributeValues: { ':v': { S: 'reserved' } } },
    { UpdateExpression: 'SET #nope = :v', ExpressionAttributeNames: { '#x': 'x' }, ExpressionAttributeValues: { ':v': { S: 'v' } } },
    { UpdateExpression: 'SET a = :nope', ExpressionAttributeValues: { ':v': { S: 'v' } } },
    { UpdateExpression: 'SET a = :v, #a = :w', ExpressionAttributeNames: { '#a': 'a' }, ExpressionAttributeValues: { ':v': { S: 'v' }, ':w': { S: 'w' } } },
    { UpdateExpression: 'SET a = :v REMOVE a', ExpressionAttributeValues: { ':v': { S: 'v' } } },
    { UpdateExpression: 'SET a = :v SET b = :w', ExpressionAttributeValues: { ':v': { S: 'v' }, ':w': { S: 'w' } } },
    { UpdateExpression: 'REMOVE nothing_here, #m', ExpressionAttributeNames: { '#m': 'm' } },
    { UpdateExpression: 'SET big1 = :v', ExpressionAttributeValues: { ':v': big(250_000) } },
    { UpdateExpression: 'SET big2 = :v REMOVE big1', ExpressionAttributeValues: { ':v': big(250_000) } },
    { UpdateExpression: 'REMOVE big1 SET big2 = :v', ExpressionAttributeValues: { ':v': big(250_000) } },
  ];
  const answers: unknown[] = [];
  for (const [i, call] of calls.entries()) {
    // The first update creates the item; the others update it.
    try {
      await client.send(new UpdateItemCommand({ TableName: 'g', Key: { pk: { S: 'b' } }, ...call }));
      answers.push(`${i}: written`);
    } catch (error) {
      answers.push({ i, name: (error as Error).name, message: (error as Error).message });
    }
  }
  const state = (pk: string, version: number, level: string): TransactWriteItem => ({
    Update: {
      TableName: 'g',
      Key: { pk: { S: pk } },
      UpdateExpression: 'SET #level = :level, #version = :next, g = :g, t = :t, pending = :p' + (version > 0 ? ' REMOVE big2' : ''),
      ConditionExpression: version > 0 ? '#version = :current' : 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#level': 'level', '#version': 'version', ...(version > 0 ? {} : { '#pk': 'pk' }) },
      ExpressionAttributeValues: { ':level': { S: level }, ':next': { N: String(version + 1) }, ':g': { S: `bucket-${version}` }, ':t': { S: 'now' }, ':p': { S: '[]' }, ...(version > 0 ? { ':current': { N: String(version) } } : {}) },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  });
  for (const items of [[state('s1', 0, 'WARNING'), state('s2', 0, 'CRITICAL')], [state('s1', 1, 'NORMAL'), state('s2', 7, 'NORMAL')], [state('s1', 1, 'CRITICAL')]]) {
    try {
      await client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      answers.push('transaction written');
    } catch (error) {
      answers.push({ name: (error as Error).name, message: (error as Error).message, reasons: (error as { CancellationReasons?: unknown }).CancellationReasons });
    }
  }
  const items = await Promise.all(['b', 's1', 's2'].map(async (pk) => (await client.send(new GetItemCommand({ TableName: 'g', Key: { pk: { S: pk } } }))).Item));
  client.destroy();
  return { answers, items };
}

describe('the simulator\'s moto launcher, against plain moto_server', () => {
  let plain: Moto;
  let fast: Moto;
  beforeAll(async () => {
    [plain, fast] = await Promise.all([startMoto(), startMoto(30_000, { command: 'python3', args: [join(ROOT, 'scripts/simulate/moto_server_fast.py')] })]);
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), fast?.stop()]);
  });

  it('leaves the same items and gives the same answers to TransactWriteItems, cancelled ones included', async () => {
    const [a, b] = [await play(plain), await play(fast)];
    expect(b).toEqual(a);
    // The sequence does what it says: cancelled transactions undone, the others written.
    expect(a.answers.map((x) => (typeof x === 'string' ? x : (x as { name: string }).name))).toEqual([
      'written',
      'TransactionCanceledException',
      'written',
      'TransactionCanceledException',
      'ValidationException',
      'written',
      'TransactionCanceledException',
      'TransactionCanceledException',
    ]);
    expect(a.items.map((i) => [i.pk!.S, i.v!.N])).toEqual([
      ['a', '3'],
      ['b', '3'],
    ]);
    expect(a.filtered).toEqual([['a', 'b'], [], ['a', 'b'], []]);
  }, 120_000);

  it('answers UpdateItem as moto does: a SET of 150 attributes written, and every invalid expression refused with the same error', async () => {
    const [a, b] = [await updates(plain), await updates(fast)];
    expect(b).toEqual(a);
    expect(a.answers.map((x) => (typeof x === 'string' ? x : (x as { name: string }).name))).toEqual([
      'written',
      'written',
      'ValidationException',
      'ValidationException',
      'ValidationException',
      'ValidationException',
    ]);
    expect(Object.keys(a.item!)).toHaveLength(151);
  }, 120_000);

  it('sizes items, parses and copies update expressions as moto does: the same item size limit, nested updates, repeated and unparsable expressions', async () => {
    const [a, b] = [await sizedUpdates(plain), await sizedUpdates(fast)];
    expect(b).toEqual(a);
    const kinds = a.answers.map((x) => (typeof x === 'string' ? x : (x as { name: string }).name));
    // Both sides of moto's item size limit are reached, and the nested updates and the bad expression answer as they must.
    expect(kinds.slice(3, 18)).toContain('written');
    expect(kinds.slice(3, 18)).toContain('ValidationException');
    expect(kinds.slice(18)).toEqual(['written', 'written', 'written', 'written', 'ValidationException', 'ValidationException']);
    expect(a.item!.l!.L).toHaveLength(3);
  }, 120_000);

  it('gives every record of concurrent PutRecords a sequence number of its own and keeps it on the shard, as Kinesis does', async () => {
    // moto 5.2 numbers a shard's records unlocked: two PutRecords answered on two threads at once
    // gave two records one sequence number, the second overwriting the first, both acknowledged
    // (2 of 16,000 here before the launcher locked it; plain moto_server lost 46 of 8,000). The
    // simulator's rule puts with 4 calls in flight: a reading never read, another never stored.
    const kinesis = new KinesisClient({ ...motoClientConfig(fast.endpoint), requestHandler: new NodeHttpHandler() });
    await kinesis.send(new CreateStreamCommand({ StreamName: 'concurrent', ShardCount: 1 }));
    for (let i = 0; i < 100 && (await kinesis.send(new DescribeStreamCommand({ StreamName: 'concurrent' }))).StreamDescription?.StreamStatus !== 'ACTIVE'; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const acknowledged: string[] = [];
    let n = 0;
    for (let round = 0; round < 12; round++) {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const records = Array.from({ length: 200 }, () => ({ Data: Buffer.from(String(n++)), PartitionKey: `sensor-${n % 97}` }));
          const out = await kinesis.send(new PutRecordsCommand({ StreamName: 'concurrent', Records: records }));
          expect(out.FailedRecordCount ?? 0).toBe(0);
          acknowledged.push(...(out.Records ?? []).map((r) => r.SequenceNumber!));
        }),
      );
    }
    const read: string[] = [];
    let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: 'concurrent', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    for (;;) {
      const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      if (!out.Records?.length) break;
      read.push(...out.Records.map((r) => Buffer.from(r.Data!).toString()));
      iterator = out.NextShardIterator;
    }
    kinesis.destroy();
    expect(acknowledged).toHaveLength(n);
    expect(new Set(acknowledged).size).toBe(n);
    expect(read.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  }, 120_000);

  it('delivers every event of 16 concurrent PutEvents to a rule\'s queue as moto does (the default input paths parsed once)', async () => {
    const [a, b] = await Promise.all([deliveredEvents(plain), deliveredEvents(fast)]);
    expect(b).toEqual(a);
    // Every entry taken; the 14 calls of the rule's source delivered, each event once.
    expect(a.failed.every((n) => n === 0)).toBe(true);
    expect(a.delivered).toHaveLength(42);
    expect(new Set(a.delivered).size).toBe(42);
  }, 120_000);
  it('applies simple SET and REMOVE updates as moto does, and refuses the same ones with the same errors', async () => {
    const [a, b] = [await simpleUpdates(plain), await simpleUpdates(fast)];
    expect(b).toEqual(a);
    const written = a.answers.filter((x) => typeof x === 'string' && x.endsWith('written'));
    // The successful forms were written and the refusals refused, on both.
    expect(written).toEqual(['0: written', '1: written', '2: written', '13: written', '14: written', '16: written', 'transaction written', 'transaction written']);
    // Refused: two REMOVE clauses, an index key of the wrong type and empty, the table's key, a reserved
    // word, undefined and unused names and values, an attribute named twice (twice), two SET clauses,
    // and the item size limit with the SET before the REMOVE (written with the REMOVE first).
    expect(a.answers.filter((x) => typeof x !== 'string' && 'i' in (x as object)).map((x) => (x as { i: number }).i)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15]);
    expect(a.items[0]).toMatchObject({ a: { S: 'two' }, b: { N: '2' }, g: { S: 'bucket-2' }, s: { SS: ['p', 'q'] }, big2: expect.anything() });
    expect(a.items[0]).not.toHaveProperty('big1');
  }, 120_000);
});
