import { describe, expect, it } from 'vitest';
import { FakeAws, SERVICES } from '../../../doubles/fake-aws';

const aws = () =>
  new FakeAws({ tables: { t: { hash: 'pk', range: 'sk', indexes: { byZone: { hash: 'zone', range: 'sk' } } } } });
const send = (fake: FakeAws, operation: string, input: object) =>
  fake.client().send({ input, constructor: { name: `${operation}Command` } });

describe('FakeAws (the in-memory AWS of the benchmark and the property tests)', () => {
  it('evaluates condition expressions as DynamoDB does', async () => {
    const fake = aws();
    const put = (version: number, condition?: string, values?: object) =>
      send(fake, 'PutItem', {
        TableName: 't',
        Item: { pk: { S: 'a' }, sk: { S: '1' }, v: { N: String(version) } },
        ConditionExpression: condition,
        ExpressionAttributeNames: condition ? { '#v': 'v', '#pk': 'pk' } : undefined,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
    await put(1, 'attribute_not_exists(#pk)');
    await expect(put(2, 'attribute_not_exists(#pk)')).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
      Item: { v: { N: '1' } },
    });
    await put(2, '#v = :one OR (NOT attribute_exists(#pk) AND #v < :one)', { ':one': { N: '1' } });
    await expect(put(3, '#v <> :two', { ':two': { N: '2' } })).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
  });

  it('applies SET, REMOVE and ADD updates, including if_not_exists, arithmetic and nested maps', async () => {
    const fake = aws();
    const key = { pk: { S: 'a' }, sk: { S: '1' } };
    const update = (expression: string, values: object = {}) =>
      send(fake, 'UpdateItem', { TableName: 't', Key: key, UpdateExpression: expression, ExpressionAttributeNames: { '#n': 'n' }, ExpressionAttributeValues: values });
    await update('SET #n = if_not_exists(#n, :zero) + :one, m = :m, gone = :one', { ':zero': { N: '0' }, ':one': { N: '1' }, ':m': { M: {} } });
    await update('SET #n = #n + :two, m.k = :s REMOVE gone ADD seen :set', { ':two': { N: '2' }, ':s': { S: 'x' }, ':set': { NS: ['5', '7'] } });
    await update('ADD seen :set', { ':set': { NS: ['7', '9'] } });
    const item = fake.table('t').get(key)!;
    expect(item).toMatchObject({ n: { N: '3' }, m: { M: { k: { S: 'x' } } } });
    expect(item).not.toHaveProperty('gone');
    expect([...(item.seen as { NS: string[] }).NS].sort()).toEqual(['5', '7', '9']);
  });

  it('runs a TransactWriteItems all or nothing, answering a cancellation reason per write (with the item a condition failed on)', async () => {
    const fake = aws();
    const put = (sk: string, condition?: string) => ({
      Put: { TableName: 't', Item: { pk: { S: 'a' }, sk: { S: sk }, v: { N: '1' } }, ConditionExpression: condition, ExpressionAttributeNames: condition ? { '#pk': 'pk' } : undefined, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' },
    });
    const update = (sk: string, known: number) => ({
      Update: {
        TableName: 't',
        Key: { pk: { S: 'a' }, sk: { S: sk } },
        UpdateExpression: 'SET v = v + :one ADD offsets :o',
        ConditionExpression: 'v = :known',
        ExpressionAttributeValues: { ':one': { N: '1' }, ':known': { N: String(known) }, ':o': { NS: ['5'] } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
    await send(fake, 'TransactWriteItems', { TransactItems: [put('1', 'attribute_not_exists(#pk)'), put('2')] });
    expect(fake.table('t').items.size).toBe(2);
    // One failed condition: nothing written, the reasons in order, the stored item with the failure.
    await expect(send(fake, 'TransactWriteItems', { TransactItems: [update('1', 1), put('2', 'attribute_not_exists(#pk)'), put('3')] })).rejects.toMatchObject({
      name: 'TransactionCanceledException',
      CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: { sk: { S: '2' }, v: { N: '1' } } }, { Code: 'None' }],
    });
    expect(fake.table('t').get({ pk: { S: 'a' }, sk: { S: '1' } })).toMatchObject({ v: { N: '1' } });
    expect(fake.table('t').items.size).toBe(2);
    await send(fake, 'TransactWriteItems', { TransactItems: [update('1', 1), put('3')] });
    expect(fake.table('t').get({ pk: { S: 'a' }, sk: { S: '1' } })).toMatchObject({ v: { N: '2' }, offsets: { NS: ['5'] } });
    // Two actions on one item, or more than 100, are refused.
    await expect(send(fake, 'TransactWriteItems', { TransactItems: [put('4'), put('4')] })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(send(fake, 'TransactWriteItems', { TransactItems: Array.from({ length: 101 }, (_, i) => put(`x${i}`)) })).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('cancels a transaction as a conflict with another would, for the partial fault', async () => {
    const fake = new FakeAws({ tables: { t: { hash: 'pk' } }, fault: () => 'partial', random: () => 0.9 });
    const error = await send(fake, 'TransactWriteItems', { TransactItems: [{ Put: { TableName: 't', Item: { pk: { S: 'a' } } } }, { Put: { TableName: 't', Item: { pk: { S: 'b' } } } }] }).catch((e) => e);
    expect(error).toMatchObject({ name: 'TransactionCanceledException', CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }] });
    expect(fake.table('t').items.size).toBe(0);
  });

  it('queries a sparse index by its key', async () => {
    const fake = aws();
    for (const [pk, zone] of [['a', 'z1'], ['b', 'z1'], ['c', undefined]] as const) {
      await send(fake, 'PutItem', { TableName: 't', Item: { pk: { S: pk }, sk: { S: '1' }, ...(zone ? { zone: { S: zone } } : {}) } });
    }
    const out = await send(fake, 'Query', {
      TableName: 't',
      IndexName: 'byZone',
      KeyConditionExpression: '#z = :z',
      ExpressionAttributeNames: { '#z': 'zone' },
      ExpressionAttributeValues: { ':z': { S: 'z1' } },
    });
    expect(out.Items.map((i: { pk: { S: string } }) => i.pk.S).sort()).toEqual(['a', 'b']);
  });

  it('injects faults: throttling, partial batches, and calls that take effect without answering', async () => {
    let fault: 'throttle' | 'partial' | 'lost-response' = 'throttle';
    const fake = new FakeAws({ tables: { t: { hash: 'pk' } }, fault: () => fault, random: () => 0.9 });
    const put = (controller?: AbortController) =>
      fake.client().send(
        { input: { RequestItems: { t: [{ PutRequest: { Item: { pk: { S: 'a' } } } }] } }, constructor: { name: 'BatchWriteItemCommand' } },
        { abortSignal: controller?.signal },
      );
    await expect(put()).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    fault = 'partial';
    expect((await put()).UnprocessedItems.t).toHaveLength(1);
    expect(fake.table('t').items.size).toBe(0);
    fault = 'lost-response';
    const controller = new AbortController();
    const pending = put(controller);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(fake.table('t').items.size).toBe(1);
  });

  it('deduplicates FIFO messages by deduplication id for five minutes', async () => {
    let now = 0;
    const fake = new FakeAws();
    fake.now = () => now;
    const sendOne = () =>
      send(fake, 'SendMessageBatch', { QueueUrl: 'q', Entries: [{ Id: '1', MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd' }] });
    await sendOne();
    now += 60_000;
    await sendOne();
    expect(fake.queues.get('q')).toHaveLength(1);
    now += 5 * 60_000;
    await sendOne();
    expect(fake.queues.get('q')).toHaveLength(2);
  });

  it('answers each service from its own table of operations, throttling with that service\'s error name, and refuses the rest by name', async () => {
    const names = Object.values(SERVICES).flatMap((service) => Object.keys(service.operations));
    expect(new Set(names).size, 'an operation name in two services').toBe(names.length);
    const throttled = new FakeAws({ fault: () => 'throttle' });
    await expect(send(throttled, 'PutEvents', { Entries: [] })).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(send(throttled, 'SendMessageBatch', { QueueUrl: 'q', Entries: [] })).rejects.toMatchObject({ name: 'RequestThrottled' });
    await expect(send(throttled, 'PutRecordBatch', { Records: [] })).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(send(throttled, 'PutItem', { TableName: 't' })).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    await expect(send(new FakeAws(), 'DeleteTable', { TableName: 't' })).rejects.toMatchObject({
      name: 'UnknownOperationException',
      message: 'the fake does not implement DeleteTable',
    });
  });

  it('records the calls of a service it does not model (a new output\'s), answering an empty success, with the same faults', async () => {
    let fault: 'ok' | 'throttle' | 'lost-response' = 'ok';
    const fake = new FakeAws({ fault: () => fault });
    const sns = fake.client('sns');
    const publish = (id: string, controller?: AbortController) =>
      sns.send({ input: { TopicArn: 't', PublishBatchRequestEntries: [{ Id: id, Message: 'm' }] }, constructor: { name: 'PublishBatchCommand' } }, { abortSignal: controller?.signal });
    await expect(publish('1')).resolves.toEqual({});
    fault = 'throttle';
    await expect(publish('2')).rejects.toMatchObject({ name: 'ThrottlingException' });
    fault = 'lost-response';
    const controller = new AbortController();
    const pending = publish('3', controller);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    // Taken: the first, and the one whose answer was lost; not the throttled one.
    expect(fake.recorded.map((c) => [c.service, c.operation, c.input.PublishBatchRequestEntries[0].Id])).toEqual([
      ['sns', 'PublishBatch', '1'],
      ['sns', 'PublishBatch', '3'],
    ]);
    expect(fake.calls).toEqual({ PublishBatch: 3 });
    // A service it models still refuses an operation it does not implement.
    await expect(fake.client('sqs').send({ input: {}, constructor: { name: 'SendMessageCommand' } })).rejects.toMatchObject({
      name: 'UnknownOperationException',
    });
  });
});
