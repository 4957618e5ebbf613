import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENTS } from '../../../../handlers/processor/outputs';
import { clientsStubbing } from '../../../doubles/mocked-clients';

describe('clientsStubbing (the registry\'s clients for tests that stub some SDK classes)', () => {
  const ddb = mockClient(DynamoDBClient);
  afterEach(() => ddb.reset());

  it('answers a stubbed class\'s calls by its stubs, and every other client\'s with an empty success, not AWS', async () => {
    ddb.on(ListTablesCommand).resolves({ TableNames: ['stubbed'] });
    const clients = clientsStubbing([DynamoDBClient]);
    expect(Object.keys(clients).sort()).toEqual(Object.keys(CLIENTS).sort());
    expect(await clients.dynamodb.send(new ListTablesCommand({}))).toEqual({ TableNames: ['stubbed'] });
    // Not stubbed: no endpoint, no credentials and no network here, so only the empty answer can come back.
    expect(await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: 'https://sqs.invalid/q', Entries: [] }))).toEqual({});
    expect(ddb.calls()).toHaveLength(1);
  });
});
