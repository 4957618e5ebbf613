/** The alert-state table's reads (handlers/processor/adapters/alert-store.ts), against AWS in memory. */
import { describe, expect, it } from 'vitest';
import { ALERT_STATE_TABLE } from '../../../../../contract';
import { AlertStore } from '../../../../../handlers/processor/adapters/alert-store';
import { elevatedBucket } from '../../../../../handlers/processor/core/hash';
import { CallCounter } from '../../../../../handlers/processor/io';
import { FakeAws } from '../../../../doubles/fake-aws';
import { fakeIo } from '../../../../helpers/fake-io';

const TABLE = 'alert-state';
const PK = ALERT_STATE_TABLE.partitionKey;
const BUCKET = ALERT_STATE_TABLE.elevatedBucketAttribute;

/** A table holding an elevated sensor (in the sparse index), a NORMAL one (not in it), and none for the third. */
function city() {
  const aws = new FakeAws({ tables: { [TABLE]: { hash: PK, indexes: { [ALERT_STATE_TABLE.elevatedIndexName]: { hash: BUCKET, range: PK } } } } });
  const table = aws.table(TABLE);
  const put = (item: Record<string, { S: string } | { N: string }>) => table.items.set(table.key(item), item);
  put({ [PK]: { S: 'calming' }, level: { S: 'WARNING' }, version: { N: '3' }, [BUCKET]: { S: elevatedBucket('calming') } });
  put({ [PK]: { S: 'rising' }, level: { S: 'NORMAL' }, version: { N: '2' } });
  put({ [PK]: { S: 'quiet' }, level: { S: 'NORMAL' }, version: { N: '1' } });
  return aws;
}

describe('AlertStore.load', () => {
  it('reads the sensors that may escalate and the elevated ones, not the others', async () => {
    const aws = city();
    const { io } = fakeIo();
    const store = new AlertStore({ client: aws.client() as never, tableName: TABLE, io, counter: new CallCounter() });
    const ids = ['calming', 'rising', 'quiet', 'new'];
    const states = await store.load(ids, (i) => ids[i] === 'rising' || ids[i] === 'new');
    expect([...states.keys()].sort()).toEqual(['calming', 'new', 'rising']);
    expect(states.get('calming')).toMatchObject({ level: 'WARNING', version: 3 });
    expect(states.get('rising')).toMatchObject({ level: 'NORMAL', version: 2 });
    // No item: NORMAL at version 0.
    expect(states.get('new')).toMatchObject({ level: 'NORMAL', version: 0 });
  });

  it('reads the sensors that may escalate while the elevated index is read: only the elevated others wait for it', async () => {
    const aws = city();
    const { io } = fakeIo();
    const fake = aws.client();
    const reads: string[][] = [];
    let indexAnswered = false;
    let readWhileIndexPending = false;
    let releaseIndex: () => void = () => undefined;
    const indexHeld = new Promise<void>((resolve) => (releaseIndex = resolve));
    const client = {
      send: async (command: { constructor: { name: string }; input: any }, options?: unknown) => {
        const op = command.constructor.name.replace(/Command$/, '');
        if (op === 'BatchGetItem') {
          reads.push(command.input.RequestItems[TABLE].Keys.map((k: Record<string, { S: string }>) => k[PK]!.S));
          if (!indexAnswered) readWhileIndexPending = true;
          releaseIndex();
        } else {
          // The index answers once a read of states is on its way (or after a second: a sequential load fails below).
          await Promise.race([indexHeld, new Promise((r) => setTimeout(r, 1_000))]);
          indexAnswered = true;
        }
        return fake.send(command as never, options as never);
      },
    };
    const store = new AlertStore({ client: client as never, tableName: TABLE, io: { ...io, callTimeoutMs: 5_000 }, counter: new CallCounter() });
    const ids = ['calming', 'rising', 'quiet'];
    const states = await store.load(ids, (i) => ids[i] === 'rising');
    expect(readWhileIndexPending).toBe(true);
    expect(reads).toEqual([['rising'], ['calming']]);
    expect([...states.keys()].sort()).toEqual(['calming', 'rising']);
  });
});
