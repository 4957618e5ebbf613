/**
 * Starts `moto_server` (AWS in a box) on a free loopback port, for a test file or the simulator, and stops it by PID.
 * moto is a Python tool: `python3 -m pip install 'moto[server]'` installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export const MOTO_INSTALL_HINT =
  "moto_server was not found: install it with `python3 -m pip install 'moto[server]'` (bash .ci/run does this)";

export interface Moto {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/** Credentials and region for SDK clients pointed at moto. */
export function motoClientConfig(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function assertMotoInstalled(): void {
  const probe = spawnSync('moto_server', ['--help'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new Error(MOTO_INSTALL_HINT);
}

/** How to start the server: `moto_server`, or a command taking the same arguments (the simulator's patched launcher). */
export interface MotoLauncher {
  command: string;
  args: string[];
  /** Variables over this process's environment. */
  env?: Record<string, string>;
  /**
   * In a process group of its own (a terminal's Ctrl-C reaches the starting process only, which
   * stops moto by PID when it is done with it); the launcher must then exit when its parent does.
   */
  detached?: boolean;
}

export async function startMoto(timeoutMs = 30_000, launcher: MotoLauncher = { command: 'moto_server', args: [] }): Promise<Moto> {
  assertMotoInstalled();
  const port = await freePort();
  const child: ChildProcess = spawn(launcher.command, [...launcher.args, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...launcher.env },
    detached: launcher.detached === true,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        process.kill(child.pid!, 'SIGTERM');
        setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5_000).unref();
      }),
  };
}
