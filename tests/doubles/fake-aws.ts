/**
 * AWS in memory, for the benchmark and the property tests: the DynamoDB, SQS, EventBridge,
 * Firehose and IoT calls the functions make (each service its own table of operations below, so a
 * new AWS call is one entry), with DynamoDB's expression semantics (conditions, SET /
 * REMOVE / ADD updates, sparse secondary indexes), optional latency, and fault injection
 * (throttling, partial batch failures, calls that time out before or after they took effect).
 * Not a mock of the processor's own placeholders: it evaluates whatever expressions it is sent.
 *
 * A client of the processor's registry (handlers/processor/outputs.ts CLIENTS) whose service has
 * no table here yet (a new output's new service) is not refused: its calls are recorded in
 * `FakeAws.recorded` and answered as an empty success (every field of an SDK output is optional),
 * so that the tests of the whole processor keep running while the new output's own test asserts
 * what it sent. Model the service (one entry in SERVICES) when a test needs its state or its partial
 * failures. A modelled service still refuses, by name, an operation it does not implement.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { hash } from 'node:crypto';
import { buildClients, type Clients } from '../../handlers/processor/outputs';

type Item = Record<string, AttributeValue>;

export interface KeySchema {
  hash: string;
  range?: string;
}

export interface TableSpec extends KeySchema {
  /** Secondary indexes by name (sparse: an item without the index's key attributes is not in it). */
  indexes?: Record<string, KeySchema>;
  /** false: writes are counted and dropped, conditions not checked, reads find nothing (a benchmark's write-only table). */
  store?: boolean;
}

/** What a fault decision does to one call. */
export type Fault =
  | 'ok'
  /** Rejected before taking effect (ProvisionedThroughputExceeded / Throttling). */
  | 'throttle'
  /** A batch call that takes some entries and returns the others as unprocessed / failed. */
  | 'partial'
  /** Never answers and has no effect (the caller's timeout fires). */
  | 'lost-request'
  /** Takes effect, then never answers (the caller cannot tell it worked). */
  | 'lost-response';

export interface FakeAwsOptions {
  tables?: Record<string, TableSpec>;
  /** Latency of every call, ms (0: the next microtask). */
  latencyMs?: number;
  /** Decides each call's fate; `random` answers [0, 1) for partial failures. */
  fault?: (operation: string, input: any) => Fault;
  random?: () => number;
  /** false: keep the objects callers send instead of copies (faster; callers must not mutate them). */
  copy?: boolean;
}

/** An SDK-style error: `name`, `$metadata`, and for a failed condition the item it failed on. */
export function awsError(name: string, message: string, status = 400, extra: object = {}): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, ...extra });
}

/** Comparable value of an attribute (numbers as numbers). */
function scalar(v: AttributeValue | undefined): unknown {
  if (!v) return undefined;
  if ('N' in v && v.N !== undefined) return Number(v.N);
  if ('S' in v) return v.S;
  if ('BOOL' in v) return v.BOOL;
  if ('NULL' in v) return null;
  return JSON.stringify(v);
}
const equal = (a: AttributeValue | undefined, b: AttributeValue | undefined) => {
  if (a === undefined || b === undefined) return a === b;
  if ('N' in a && 'N' in b) return Number(a.N) === Number(b.N);
  return JSON.stringify(a) === JSON.stringify(b);
};
const deepCopy = <T>(x: T): T => structuredClone(x);

const TOKENS = new Map<string, string[]>();

/** A tokenizer and recursive-descent evaluator of DynamoDB condition and update expressions. */
class Expression {
  private tokens: string[];
  private at = 0;
  constructor(
    text: string,
    private readonly names: Record<string, string> = {},
    private readonly values: Record<string, AttributeValue> = {},
  ) {
    let tokens = TOKENS.get(text);
    if (!tokens) TOKENS.set(text, (tokens = text.match(/<>|<=|>=|[=<>(),.[\]+-]|[#:]?[A-Za-z_][A-Za-z0-9_]*|\d+/g) ?? []));
    this.tokens = tokens;
  }
  private peek = () => this.tokens[this.at];
  private next = () => this.tokens[this.at++]!;
  private expect(token: string) {
    const t = this.next();
    if (t.toUpperCase() !== token) throw awsError('ValidationException', `expected ${token}, got ${t}`);
  }
  private name(token: string) {
    if (token.startsWith('#')) {
      const n = this.names[token];
      if (n === undefined) throw awsError('ValidationException', `unknown name ${token}`);
      return n;
    }
    return token;
  }
  /** A document path: name(.name)* — returned as its parts. */
  path(): string[] {
    const parts = [this.name(this.next())];
    while (this.peek() === '.') {
      this.next();
      parts.push(this.name(this.next()));
    }
    return parts;
  }
  static get(item: Item, path: string[]): AttributeValue | undefined {
    let v: AttributeValue | undefined = item[path[0]!];
    for (const key of path.slice(1)) v = v && 'M' in v ? v.M![key] : undefined;
    return v;
  }
  private operand(item: Item): AttributeValue | undefined {
    const t = this.peek()!;
    if (t.startsWith(':')) {
      this.next();
      const v = this.values[t];
      if (v === undefined) throw awsError('ValidationException', `unknown value ${t}`);
      return v;
    }
    if (t.toLowerCase() === 'size') {
      this.next();
      this.expect('(');
      const v = Expression.get(item, this.path());
      this.expect(')');
      if (!v) return undefined;
      const size = 'S' in v ? v.S!.length : 'SS' in v ? v.SS!.length : 'NS' in v ? v.NS!.length : 'L' in v ? v.L!.length : 'M' in v ? Object.keys(v.M!).length : 0;
      return { N: String(size) };
    }
    return Expression.get(item, this.path());
  }
  /** Whether `item` meets the whole expression (from its start: one Expression tests many items). */
  test(item: Item): boolean {
    this.at = 0;
    return this.condition(item);
  }
  condition(item: Item): boolean {
    let result = this.conjunction(item);
    while (this.peek()?.toUpperCase() === 'OR') {
      this.next();
      const right = this.conjunction(item);
      result = result || right;
    }
    return result;
  }
  private conjunction(item: Item): boolean {
    let result = this.negation(item);
    while (this.peek()?.toUpperCase() === 'AND') {
      this.next();
      const right = this.negation(item);
      result = result && right;
    }
    return result;
  }
  private negation(item: Item): boolean {
    if (this.peek()?.toUpperCase() === 'NOT') {
      this.next();
      return !this.negation(item);
    }
    return this.comparison(item);
  }
  private comparison(item: Item): boolean {
    const t = this.peek()!;
    if (t === '(') {
      this.next();
      const r = this.condition(item);
      this.expect(')');
      return r;
    }
    const fn = t.toLowerCase();
    if (['attribute_exists', 'attribute_not_exists', 'begins_with', 'contains'].includes(fn)) {
      this.next();
      this.expect('(');
      const target = fn.startsWith('attribute') ? Expression.get(item, this.path()) : this.operand(item);
      let arg: AttributeValue | undefined;
      if (this.peek() === ',') {
        this.next();
        arg = this.operand(item);
      }
      this.expect(')');
      if (fn === 'attribute_exists') return target !== undefined;
      if (fn === 'attribute_not_exists') return target === undefined;
      if (fn === 'begins_with') return typeof scalar(target) === 'string' && String(scalar(target)).startsWith(String(scalar(arg)));
      if (!target || !arg) return false;
      if ('S' in target) return target.S!.includes(String(scalar(arg)));
      if ('SS' in target) return target.SS!.includes(arg.S!);
      if ('NS' in target) return target.NS!.map(Number).includes(Number(arg.N));
      return false;
    }
    const left = this.operand(item);
    const op = this.next();
    if (op.toUpperCase() === 'BETWEEN') {
      const low = this.operand(item);
      this.expect('AND');
      const high = this.operand(item);
      const v = scalar(left) as number;
      return left !== undefined && v >= (scalar(low) as number) && v <= (scalar(high) as number);
    }
    const right = this.operand(item);
    if (op === '=') return equal(left, right);
    if (op === '<>') return !equal(left, right);
    if (left === undefined || right === undefined) return false;
    const [a, b] = [scalar(left) as number, scalar(right) as number];
    if (op === '<') return a < b;
    if (op === '<=') return a <= b;
    if (op === '>') return a > b;
    if (op === '>=') return a >= b;
    throw awsError('ValidationException', `unsupported operator ${op}`);
  }
  /** Applies an update expression to (a copy of) the item. */
  update(item: Item): Item {
    // Copy on write: the item and each map along a path that changes.
    const out: Item = { ...item };
    const parentOf = (path: string[]): Item | undefined => {
      let target: Item = out;
      for (const key of path.slice(0, -1)) {
        const m = target[key];
        if (!m || !('M' in m)) return undefined;
        target[key] = { M: { ...m.M } };
        target = target[key]!.M!;
      }
      return target;
    };
    const set = (path: string[], value: AttributeValue | undefined) => {
      if (value === undefined) throw awsError('ValidationException', `no value for ${path.join('.')}`);
      const parent = parentOf(path);
      if (!parent) throw awsError('ValidationException', 'The document path provided in the update expression is invalid for update');
      parent[path.at(-1)!] = value;
    };
    const remove = (path: string[]) => {
      const parent = parentOf(path);
      if (parent) delete parent[path.at(-1)!];
    };
    const value = (): AttributeValue | undefined => {
      const t = this.peek()!;
      let v: AttributeValue | undefined;
      if (t.toLowerCase() === 'if_not_exists') {
        this.next();
        this.expect('(');
        const existing = Expression.get(item, this.path());
        this.expect(',');
        const fallback = this.operand(item);
        this.expect(')');
        v = existing ?? fallback;
      } else {
        v = this.operand(item);
      }
      const op = this.peek();
      if (op === '+' || op === '-') {
        this.next();
        const right = value();
        const sum = Number(v?.N) + (op === '+' ? 1 : -1) * Number(right?.N);
        return { N: String(sum) };
      }
      return v;
    };
    while (this.at < this.tokens.length) {
      const clause = this.next().toUpperCase();
      do {
        if (this.peek() === ',') this.next();
        const path = this.path();
        if (clause === 'SET') {
          this.expect('=');
          set(path, value());
        } else if (clause === 'REMOVE') {
          remove(path);
        } else if (clause === 'ADD' || clause === 'DELETE') {
          const v = this.operand(item)!;
          const current = Expression.get(out, path);
          if ('N' in v) {
            if (clause === 'DELETE') throw awsError('ValidationException', 'DELETE needs a set');
            set(path, { N: String(Number(current?.N ?? 0) + Number(v.N)) });
          } else {
            const kind = 'NS' in v ? 'NS' : 'SS';
            const existing = new Set((current as unknown as Record<string, string[]> | undefined)?.[kind] ?? []);
            for (const x of (v as unknown as Record<string, string[]>)[kind]!) clause === 'ADD' ? existing.add(x) : existing.delete(x);
            if (existing.size === 0) remove(path);
            else set(path, { [kind]: [...existing] } as unknown as AttributeValue);
          }
        } else {
          throw awsError('ValidationException', `unsupported update clause ${clause}`);
        }
      } while (this.peek() === ',');
    }
    return out;
  }
}

/** An in-memory DynamoDB table. */
class Table {
  readonly items = new Map<string, Item>();
  constructor(readonly spec: TableSpec) {}
  key(item: Item): string {
    const { hash, range } = this.spec;
    if (!item[hash] || (range && !item[range])) throw awsError('ValidationException', 'The provided key element does not match the schema');
    return JSON.stringify([item[hash], range ? item[range] : null]);
  }
  get(key: Item): Item | undefined {
    return this.items.get(this.key(key));
  }
}

/** One call of a service: its input, and whether each entry of a batch call is taken (`partial` takes some). */
type Operation = (aws: FakeAws, input: any, call: { fault: Fault; takes: () => boolean }) => any;

/** A service: the error name it throttles with, and its calls by operation name. */
interface Service {
  throttle: string;
  operations: Record<string, Operation>;
}

const DYNAMODB: Service = {
  throttle: 'ProvisionedThroughputExceededException',
  operations: {
    PutItem(aws, input) {
      const table = aws.table(input.TableName);
      if (table.spec.store === false) return {};
      const item = input.Item as Item;
      const old = table.get(item);
      aws.check(input, old);
      table.items.set(table.key(item), aws.copy(item));
      return input.ReturnValues === 'ALL_OLD' && old ? { Attributes: aws.copy(old) } : {};
    },
    GetItem(aws, input) {
      const item = aws.table(input.TableName).get(input.Key);
      return item ? { Item: aws.copy(item) } : {};
    },
    UpdateItem(aws, input) {
      const table = aws.table(input.TableName);
      if (table.spec.store === false) return {};
      const old = table.get(input.Key);
      aws.check(input, old);
      const updated = new Expression(input.UpdateExpression, input.ExpressionAttributeNames, input.ExpressionAttributeValues).update(
        old ?? aws.copy(input.Key),
      );
      table.items.set(table.key(input.Key), updated);
      return input.ReturnValues === 'ALL_NEW' ? { Attributes: aws.copy(updated) } : {};
    },
    TransactWriteItems: (aws, input, { fault }) => transactWrite(aws, input, fault),
    BatchWriteItem(aws, input, { takes }) {
      const unprocessed: Record<string, unknown[]> = {};
      for (const [name, requests] of Object.entries(input.RequestItems as Record<string, any[]>)) {
        const table = aws.table(name);
        for (const r of requests) {
          if (!takes()) {
            (unprocessed[name] ??= []).push(r);
            continue;
          }
          if (table.spec.store === false) continue;
          if (r.PutRequest) table.items.set(table.key(r.PutRequest.Item), aws.copy(r.PutRequest.Item));
          else table.items.delete(table.key(r.DeleteRequest.Key));
        }
      }
      return { UnprocessedItems: unprocessed };
    },
    BatchGetItem(aws, input, { takes }) {
      // DynamoDB's limit, stated here on its own so that a caller (or a limits.ts) breaking it fails as in AWS:
      // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
      const keys = Object.values(input.RequestItems as Record<string, { Keys: Item[] }>).reduce((n, r) => n + r.Keys.length, 0);
      if (keys > 100) throw awsError('ValidationException', 'Too many items requested for the BatchGetItem call');
      const responses: Record<string, Item[]> = {};
      const unprocessed: Record<string, { Keys: Item[] }> = {};
      for (const [name, request] of Object.entries(input.RequestItems as Record<string, { Keys: Item[] }>)) {
        const table = aws.table(name);
        responses[name] = [];
        for (const key of request.Keys) {
          if (!takes()) {
            (unprocessed[name] ??= { Keys: [] }).Keys.push(key);
            continue;
          }
          const item = table.get(key);
          if (item) responses[name].push(aws.copy(item));
        }
      }
      return { Responses: responses, UnprocessedKeys: unprocessed };
    },
    Query(aws, input) {
      const table = aws.table(input.TableName);
      const schema = schemaOf(table, input.IndexName);
      // One Expression for every item: the benchmarks count this double's work in the processor's time.
      const key = new Expression(input.KeyConditionExpression, input.ExpressionAttributeNames, input.ExpressionAttributeValues);
      const items = [...table.items.values()].filter((item) => inIndex(item, schema) && key.test(item));
      // In sort-key order, newest first when asked, at most Limit items (what a "latest item" query relies on).
      if (schema.range) {
        const r = schema.range;
        items.sort((a, b) => {
          const x = scalar(a[r]) as string | number;
          const y = scalar(b[r]) as string | number;
          return x < y ? -1 : x > y ? 1 : 0;
        });
        if (input.ScanIndexForward === false) items.reverse();
      }
      const limited = input.Limit !== undefined ? items.slice(0, input.Limit) : items;
      return { Items: limited.map((i) => aws.copy(i)), Count: limited.length };
    },
    Scan(aws, input) {
      // One page: every item of the table or index (for a segmented scan, segment 0 holds them all).
      const table = aws.table(input.TableName);
      const schema = schemaOf(table, input.IndexName);
      if ((input.Segment ?? 0) !== 0) return { Items: [], Count: 0 };
      const items = [...table.items.values()].filter((item) => inIndex(item, schema));
      return { Items: items.map((i) => aws.copy(i)), Count: items.length };
    },
  },
};

const EVENTBRIDGE: Service = {
  throttle: 'ThrottlingException',
  operations: {
    PutEvents(aws, input, { takes }) {
      const entries = (input.Entries as any[]).map((e) => {
        if (!takes()) return { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' };
        aws.events.push({ EventBusName: e.EventBusName, Source: e.Source, DetailType: e.DetailType, Detail: e.Detail });
        return { EventId: `event-${aws.events.length}` };
      });
      return { FailedEntryCount: entries.filter((e) => e.ErrorCode).length, Entries: entries };
    },
  },
};

/** crypto.hash, one call (half the cost of a Hash object for a message's few hundred bytes). */
const md5 = (body: string) => hash('md5', body);

const SQS: Service = {
  throttle: 'RequestThrottled',
  operations: {
    SendMessageBatch(aws, input, { takes }) {
      const queue = aws.queues.get(input.QueueUrl) ?? [];
      aws.queues.set(input.QueueUrl, queue);
      const seen = aws.dedup.get(input.QueueUrl) ?? new Map<string, number>();
      aws.dedup.set(input.QueueUrl, seen);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const e of input.Entries as any[]) {
        if (!takes()) {
          Failed.push({ Id: e.Id, Code: 'InternalError', SenderFault: false });
          continue;
        }
        const dedupId = e.MessageDeduplicationId as string | undefined;
        const sentAt = dedupId ? seen.get(dedupId) : undefined;
        if (dedupId && sentAt !== undefined && aws.now() - sentAt < 5 * 60_000) {
          Successful.push({ Id: e.Id, MessageId: 'deduplicated', MD5OfMessageBody: md5(e.MessageBody) });
          continue;
        }
        if (dedupId) seen.set(dedupId, aws.now());
        const id = aws.nextMessageId();
        queue.push({ id, body: e.MessageBody, groupId: e.MessageGroupId, dedupId });
        // As SQS answers: the SDK checks the body's MD5 against it.
        Successful.push({ Id: e.Id, MessageId: id, MD5OfMessageBody: md5(e.MessageBody) });
      }
      return { Successful, Failed };
    },
  },
};

const FIREHOSE: Service = {
  throttle: 'ThrottlingException',
  operations: {
    PutRecordBatch(aws, input, { takes }) {
      // Firehose's limits, so that a caller breaking them fails here as in AWS:
      // https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html
      const sizes = (input.Records as { Data: Uint8Array }[]).map((r) => r.Data.length);
      if (sizes.length === 0 || sizes.length > 500) throw awsError('InvalidArgumentException', `${sizes.length} records: 1 to 500 per call`);
      if (sizes.some((n) => n > 1_024_000)) throw awsError('InvalidArgumentException', 'a record is over 1,000 KiB');
      if (sizes.reduce((a, b) => a + b, 0) > 4_000_000) throw awsError('InvalidArgumentException', 'the records are over 4 MB');
      const records = aws.firehose.get(input.DeliveryStreamName) ?? [];
      aws.firehose.set(input.DeliveryStreamName, records);
      const RequestResponses = (input.Records as { Data: Uint8Array }[]).map((r) => {
        if (!takes()) return { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' };
        records.push(r.Data);
        return { RecordId: `record-${records.length}` };
      });
      return { FailedPutCount: RequestResponses.filter((r) => 'ErrorCode' in r).length, RequestResponses };
    },
  },
};

const IOT: Service = {
  // As the fake has always answered (the detector retries it as any throttling).
  throttle: 'ProvisionedThroughputExceededException',
  operations: {
    ListThingGroups(aws, input) {
      const children = aws.thingGroups.get(input.parentGroup);
      if (!children) throw awsError('ResourceNotFoundException', `Thing group ${input.parentGroup} does not exist`, 404);
      const from = Number(input.nextToken ?? 0);
      const size = input.maxResults ?? 25;
      const page = children.slice(from, from + size);
      return {
        thingGroups: page.map((groupName) => ({ groupName, groupArn: `arn:aws:iot:us-east-1:123456789012:thinggroup/${groupName}` })),
        ...(from + size < children.length ? { nextToken: String(from + size) } : {}),
      };
    },
  },
};

/** Every service the fake models, by the registry's client name (outputs.ts CLIENTS; iot: the detector's). */
export const SERVICES: Readonly<Record<string, Service>> = { dynamodb: DYNAMODB, eventbridge: EVENTBRIDGE, sqs: SQS, firehose: FIREHOSE, iot: IOT };

/** The error name a service the fake does not model throttles with (most AWS services' name for it). */
const UNMODELLED_THROTTLE = 'ThrottlingException';

/** A call to a service the fake does not model: recorded, and answered as an empty success. */
export interface RecordedCall {
  service: string;
  operation: string;
  input: any;
}

/** A service the fake does not model, as one operation that records its call (a copy of its input). */
const recording = (service: string, operation: string): Service => ({
  throttle: UNMODELLED_THROTTLE,
  operations: {
    [operation]: (aws, input) => {
      aws.recorded.push({ service, operation, input: aws.copy(input) });
      return {};
    },
  },
});

/** Each operation's service (operation names are unique across these services). */
const SERVICE_OF = new Map<string, Service>(Object.values(SERVICES).flatMap((service) => Object.keys(service.operations).map((op) => [op, service] as const)));

/** The table's or one of its indexes' key schema. */
function schemaOf(table: Table, indexName: string | undefined): KeySchema {
  const schema = indexName ? table.spec.indexes?.[indexName] : table.spec;
  if (!schema) throw awsError('ValidationException', `The table does not have the specified index: ${indexName}`);
  return schema;
}
/** Whether an item is in a (sparse) index: it has the index's key attributes. */
const inIndex = (item: Item, schema: KeySchema) => item[schema.hash] !== undefined && (!schema.range || item[schema.range] !== undefined);

/**
 * TransactWriteItems as DynamoDB runs it: up to 100 actions on distinct items, every condition
 * checked before anything is written, all written or none; a cancelled transaction answers a
 * reason per action, in order (None for those cancelled only because of the others), with the item
 * a condition failed on when ReturnValuesOnConditionCheckFailure is ALL_OLD
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
 * `partial` cancels it as a conflict with another transaction would (TransactionConflict on some).
 */
function transactWrite(aws: FakeAws, input: any, fault: Fault): any {
  const actions = (input.TransactItems ?? []) as Record<string, any>[];
  if (actions.length === 0 || actions.length > 100) throw awsError('ValidationException', `${actions.length} actions: 1 to 100 per transaction`);
  // Writes to write-only tables (a benchmark's) are counted and dropped, as PutItem's are.
  // (The action's one request read by name, not through Object.values: the fake's own cost, kept out of the benchmark.)
  if (fault === 'ok' && actions.every((a) => aws.table(((a.Put ?? a.Update ?? a.Delete ?? a.ConditionCheck) as { TableName: string }).TableName).spec.store === false)) return {};
  const targets = actions.map((action) => {
    const [kind, op] = Object.entries(action)[0]!;
    const table = aws.table(op.TableName);
    const key = kind === 'Put' ? keyOf(table, op.Item) : op.Key;
    return { kind, op, table, id: `${op.TableName} ${table.key(key)}`, key };
  });
  if (new Set(targets.map((t) => t.id)).size !== targets.length) {
    throw awsError('ValidationException', 'Transaction request cannot include multiple operations on one item');
  }
  const cancel = (reasons: object[]) => {
    throw awsError('TransactionCanceledException', `Transaction cancelled, please refer cancellation reasons for specific reasons`, 400, {
      CancellationReasons: reasons,
    });
  };
  if (fault === 'partial') {
    const reasons = targets.map(() => (aws.random() < 0.3 ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' } : { Code: 'None' }));
    if (!reasons.some((r) => r.Code !== 'None')) reasons[0] = { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' };
    cancel(reasons);
  }
  const reasons = targets.map(({ op, table, key }) => {
    if (table.spec.store === false || !op.ConditionExpression) return { Code: 'None' };
    const old = table.get(key);
    const ok = new Expression(op.ConditionExpression, op.ExpressionAttributeNames, op.ExpressionAttributeValues).condition(old ?? {});
    if (ok) return { Code: 'None' };
    return {
      Code: 'ConditionalCheckFailed',
      Message: 'The conditional request failed',
      ...(op.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old ? { Item: aws.copy(old) } : {}),
    };
  });
  if (reasons.some((r) => r.Code !== 'None')) cancel(reasons);
  for (const { kind, op, table, key } of targets) {
    if (table.spec.store === false) continue;
    if (kind === 'Put') table.items.set(table.key(key), aws.copy(op.Item));
    else if (kind === 'Delete') table.items.delete(table.key(key));
    else if (kind === 'Update') {
      const old = table.get(key);
      const updated = new Expression(op.UpdateExpression, op.ExpressionAttributeNames, op.ExpressionAttributeValues).update(old ?? aws.copy(key));
      table.items.set(table.key(key), updated);
    }
  }
  return {};
}

/** The key attributes of an item. */
function keyOf(table: Table, item: Item): Item {
  const { hash, range } = table.spec;
  return range ? { [hash]: item[hash]!, [range]: item[range]! } : { [hash]: item[hash]! };
}

/** A client's `send`, as the SDK's: `send(command, { abortSignal })`. */
export type FakeSend = (command: { input: object; constructor: { name: string } }, options?: { abortSignal?: unknown } | ((...args: never[]) => void)) => Promise<any>;

/** The state the fake keeps, for assertions: tables, queues, events, delivery streams. */
export class FakeAws {
  readonly tables = new Map<string, Table>();
  readonly queues = new Map<string, { id: string; body: string; groupId?: string; dedupId?: string }[]>();
  readonly events: { EventBusName?: string; Source?: string; DetailType?: string; Detail?: string }[] = [];
  readonly firehose = new Map<string, Uint8Array[]>();
  /** IoT thing groups: parent group → its child groups (ListThingGroups with parentGroup). */
  readonly thingGroups = new Map<string, string[]>();
  readonly calls: Record<string, number> = {};
  /** The calls that took effect on services the fake does not model (see the file's comment), in order. */
  readonly recorded: RecordedCall[] = [];
  /** [0, 1), for partial failures. */
  readonly random: () => number;
  /** A copy of what is stored or answered (the object itself with `copy: false`). */
  readonly copy: <T>(x: T) => T;
  private messageIds = 0;
  /** FIFO deduplication: queue → deduplication id → time sent (a 5-minute window, as SQS). */
  readonly dedup = new Map<string, Map<string, number>>();
  now: () => number = Date.now;

  constructor(private readonly options: FakeAwsOptions = {}) {
    for (const [name, spec] of Object.entries(options.tables ?? {})) this.tables.set(name, new Table(spec));
    this.random = options.random ?? Math.random;
    this.copy = options.copy === false ? (x) => x : deepCopy;
  }

  table(name: string): Table {
    const t = this.tables.get(name);
    if (!t) throw awsError('ResourceNotFoundException', `Requested resource not found: Table: ${name} not found`);
    return t;
  }

  /** The id of the next message a queue takes. */
  nextMessageId(): string {
    return String(++this.messageIds);
  }

  /**
   * A client: `send(command, { abortSignal })` as the SDK's. Without `service`, any operation of
   * the modelled services; with the name of a service the fake does not model, every call is
   * recorded (`recorded`) and answered as an empty success.
   */
  client(service?: string): { send: FakeSend } {
    const modelled = service === undefined || service in SERVICES;
    return {
      send: (command, options) =>
        this.send(
          command.constructor.name.replace(/Command$/, ''),
          command.input,
          typeof options === 'object' ? (options.abortSignal as AbortSignal | undefined) : undefined,
          modelled ? undefined : service,
        ),
    };
  }

  /**
   * The processor's clients (outputs.ts buildClients, so every client of the registry), each an
   * SDK client whose `send` this fake answers: typed as the real clients, no cast.
   */
  clients(): Clients {
    return buildClients(undefined, (client, name) => Object.assign(client, { send: this.client(name).send }));
  }

  private async send(operation: string, input: any, abortSignal?: AbortSignal, unmodelled?: string): Promise<any> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    const fault = this.options.fault?.(operation, input) ?? 'ok';
    const latency = this.options.latencyMs ?? 0;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    else await Promise.resolve();
    const service = unmodelled !== undefined ? recording(unmodelled, operation) : SERVICE_OF.get(operation);
    if (!service) throw awsError('UnknownOperationException', `the fake does not implement ${operation}`);
    if (fault === 'throttle') throw awsError(service.throttle, `${operation} throttled`);
    if (fault === 'lost-request' || fault === 'lost-response') {
      if (fault === 'lost-response') this.apply(service, operation, input, 'ok');
      return new Promise((_, reject) => {
        const abort = () => reject(awsError('AbortError', 'Request aborted'));
        if (abortSignal?.aborted) abort();
        abortSignal?.addEventListener('abort', abort);
      });
    }
    return this.apply(service, operation, input, fault);
  }

  /** Applies one call; `partial` takes a random part of a batch. */
  private apply(service: Service, operation: string, input: any, fault: Fault): any {
    const takes = () => fault !== 'partial' || this.random() < 0.5;
    return service.operations[operation]!(this, input, { fault, takes });
  }

  /** Throws ConditionalCheckFailedException (with the item, if asked) when the condition fails. */
  check(input: any, old: Item | undefined) {
    if (!input.ConditionExpression) return;
    const ok = new Expression(input.ConditionExpression, input.ExpressionAttributeNames, input.ExpressionAttributeValues).condition(old ?? {});
    if (!ok) {
      throw awsError(
        'ConditionalCheckFailedException',
        'The conditional request failed',
        400,
        input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old ? { Item: this.copy(old) } : {},
      );
    }
  }
}
