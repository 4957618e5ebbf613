/**
 * AWS over local HTTP for the benchmark: DynamoDB, EventBridge, SQS and Firehose's JSON protocols
 * (the `x-amz-target` header names the operation) answered by AWS in memory (tests/doubles/fake-aws.ts), in a
 * child process, so that the real AWS SDK's cost (serialising, signing, HTTP, parsing) is measured
 * in the benchmark's process and the stub's is not. Not an emulator of errors or limits beyond what
 * fake-aws.ts models; `npm run bench` uses it to measure CPU per record, not behaviour.
 *
 *   const stub = await startAwsStub({ tables });  // stub.endpoint, stub.stop()
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { FakeAws, type TableSpec } from '../../tests/doubles/fake-aws';
import { stopChild } from '../lib/processes';

export interface AwsStub {
  endpoint: string;
  pid: number;
  /** Calls the stub answered, by operation, since it started. */
  calls(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export interface AwsStubOptions {
  tables: Record<string, TableSpec>;
  /** Latency added to every answer, ms. */
  latencyMs?: number;
}

/** Error names as the JSON protocols carry them in `__type` (the SDK keeps what follows the '#'). */
const errorType = (name: string) => `com.amazonaws.stub#${name}`;

/** The server side (runs in the child). */
function serve(options: AwsStubOptions): void {
  const aws = new FakeAws({ tables: options.tables, latencyMs: options.latencyMs ?? 0, copy: false });
  const client = aws.client();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.indexOf('.') + 1);
      if (req.url === '/__calls') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(aws.calls));
        return;
      }
      try {
        const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        // Firehose carries record data as base64; the fake measures bytes.
        if (operation === 'PutRecordBatch') for (const r of input.Records ?? []) r.Data = Buffer.from(r.Data, 'base64');
        const output = await client.send({ input, constructor: { name: `${operation}Command` } });
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(output ?? {}));
      } catch (error) {
        const e = error as Error & { $metadata?: { httpStatusCode?: number }; Item?: unknown; CancellationReasons?: unknown };
        const body = { __type: errorType(e.name), message: e.message, ...(e.Item ? { Item: e.Item } : {}), ...(e.CancellationReasons ? { CancellationReasons: e.CancellationReasons } : {}) };
        res.writeHead(e.$metadata?.httpStatusCode ?? 500, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': e.name }).end(JSON.stringify(body));
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

/** Starts the stub in a child process; resolves once it listens. */
export async function startAwsStub(options: AwsStubOptions): Promise<AwsStub> {
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, AWS_STUB_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`the AWS stub exited (${code}) before it listened`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    pid: child.pid!,
    calls: async () => (await fetch(`${endpoint}/__calls`, { method: 'POST' })).json() as Promise<Record<string, number>>,
    stop: () => stopChild(child, 3_000),
  };
}

if (process.env.AWS_STUB_OPTIONS && process.send) serve(JSON.parse(process.env.AWS_STUB_OPTIONS) as AwsStubOptions);
