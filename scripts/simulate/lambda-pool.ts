/**
 * The processor as Lambda runs it: the built bundle (dist/processor-<hash>.zip) unpacked into a
 * temporary directory and imported by child processes ("containers", one per lane of the event
 * source mapping) with the function's environment as deployed and AWS_ENDPOINT_URL pointing at
 * moto. A container is started on its first invocation (a cold start) and kept warm; an
 * invocation that outlives the function's timeout kills its container (Lambda does the same).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { KinesisStreamEvent } from 'aws-lambda';
import { unzipSync } from 'fflate';
import type { InvokeOutcome, Invoker } from './esm';
import { owned } from './owned';

/** The runtime shim each container runs: imports the handler once, then serves invocations over IPC. */
const RUNTIME = `
const handler = (await import(process.env.SIM_HANDLER_URL))[process.env.SIM_HANDLER_EXPORT || 'handler'];
process.on('message', async (m) => {
  const deadline = Date.now() + m.timeoutMs;
  const context = { awsRequestId: m.requestId, functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, getRemainingTimeInMillis: () => deadline - Date.now() };
  try {
    const result = await handler(m.event, context);
    process.send({ id: m.id, ok: true, response: result ?? null });
  } catch (error) {
    process.send({ id: m.id, ok: false, error: String(error && error.stack || error) });
  }
});
// Lambda's container goes when the service is done with it: here, when the simulator is gone.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
`;

export interface LambdaPoolOptions {
  zipPath: string;
  env: Record<string, string>;
  timeoutSeconds: number;
  /** Each line the function writes to stdout (its logs and EMF metrics). */
  onLog?: (lane: number, line: string) => void;
  /** The bundle's export to call (the function's Handler after the dot): `handler` (the processor) by default, `detector` for the health detector. */
  handlerExport?: string;
}

interface Container {
  child: ChildProcess;
  ready: Promise<void>;
  pending: Map<number, (outcome: InvokeOutcome) => void>;
  stderr: string;
  /** From its start to ready (the bundle imported): Lambda's Init Duration. */
  initMs?: number;
  /** Whether it has been given an invocation (its first is the cold start). */
  served: boolean;
}

export class LambdaPool implements Invoker {
  readonly dir: string;
  private containers = new Map<number, Container>();
  private nextId = 1;
  coldStarts = 0;

  constructor(private readonly options: LambdaPoolOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'tapstack-sim-lambda-'));
    owned.path(this.dir);
    for (const [name, content] of Object.entries(unzipSync(new Uint8Array(readFileSync(options.zipPath))))) {
      mkdirSync(dirname(join(this.dir, name)), { recursive: true });
      writeFileSync(join(this.dir, name), content);
    }
    writeFileSync(join(this.dir, 'runtime.mjs'), RUNTIME);
  }

  /** PIDs of the running containers, by lane. */
  pids(): Map<number, number> {
    return new Map([...this.containers].filter(([, c]) => c.child.exitCode === null).map(([lane, c]) => [lane, c.child.pid!]));
  }

  private container(lane: number): Container {
    const existing = this.containers.get(lane);
    if (existing && existing.child.exitCode === null && !existing.child.killed) return existing;
    this.coldStarts++;
    const forkedAt = Date.now();
    const child = fork(join(this.dir, 'runtime.mjs'), [], {
      cwd: this.dir,
      // Plain node, as Lambda runs it (not the TypeScript loader the simulator itself runs under).
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // A process group of its own: a Ctrl-C in the simulator's terminal does not kill a batch mid-way.
      detached: true,
      env: {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_LAMBDA_FUNCTION_NAME: this.options.env.AWS_LAMBDA_FUNCTION_NAME ?? 'processor',
        NODE_OPTIONS: '--enable-source-maps',
        ...this.options.env,
        SIM_HANDLER_URL: new URL(`file://${join(this.dir, 'index.mjs')}`).href,
        SIM_HANDLER_EXPORT: this.options.handlerExport ?? 'handler',
      },
    });
    owned.process(child.pid);
    const c: Container = { child, ready: Promise.resolve(), pending: new Map(), stderr: '', served: false };
    c.ready = new Promise((resolve, reject) => {
      child.once('message', () => {
        c.initMs = Date.now() - forkedAt;
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`container exited (${code}) before it was ready: ${c.stderr}`)));
    });
    c.ready.catch(() => undefined);
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line) this.options.onLog?.(lane, line);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      c.stderr = (c.stderr + chunk.toString()).slice(-4000);
    });
    child.on('message', (m: { id?: number; ok?: boolean; response?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const done = c.pending.get(m.id);
      c.pending.delete(m.id);
      done?.(m.ok ? { ok: true, response: m.response as never } : { ok: false, error: m.error ?? 'error' });
    });
    child.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      owned.released(child.pid);
      for (const done of c.pending.values()) done({ ok: false, error: `container exited (${code ?? signal}): ${c.stderr.slice(-500)}` });
      c.pending.clear();
    });
    this.containers.set(lane, c);
    return c;
  }

  async invoke(lane: number, event: KinesisStreamEvent | object): Promise<InvokeOutcome> {
    const c = this.container(lane);
    try {
      await c.ready;
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
    const id = this.nextId++;
    const timeoutMs = this.options.timeoutSeconds * 1000;
    const cold = c.served ? {} : { initMs: c.initMs };
    c.served = true;
    const outcome = new Promise<InvokeOutcome>((resolve) => {
      const timer = setTimeout(() => {
        c.pending.delete(id);
        c.child.kill('SIGKILL');
        resolve({ ok: false, error: `Task timed out after ${this.options.timeoutSeconds} seconds` });
      }, timeoutMs);
      c.pending.set(id, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
      if (!c.child.connected) return resolve({ ok: false, error: `container exited: ${c.stderr.slice(-500)}` });
      c.child.send({ id, event, timeoutMs, requestId: `sim-${lane}-${id}` }, (error) => {
        if (!error) return;
        clearTimeout(timer);
        c.pending.delete(id);
        resolve({ ok: false, error: `container unreachable: ${error.message}` });
      });
    });
    return outcome.then((o) => ({ ...o, ...cold }));
  }

  /** Stops every container by PID and removes the unpacked bundle. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.containers.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            // 'close': the process has exited and its stdout is read to the end (the last log lines count).
            if ((c.child.exitCode !== null || c.child.signalCode !== null) && c.child.stdout?.readableEnded !== false) return resolve();
            c.child.once('close', () => resolve());
            process.kill(c.child.pid!, 'SIGTERM');
            setTimeout(() => c.child.exitCode === null && c.child.signalCode === null && process.kill(c.child.pid!, 'SIGKILL'), 3_000).unref();
          }),
      ),
    );
    owned.removed(this.dir);
  }
}
