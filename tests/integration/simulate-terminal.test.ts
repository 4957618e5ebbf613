/**
 * npm run simulate in a real terminal: `script` gives it a pseudo-terminal, and a Ctrl-C is the
 * byte 0x03 typed into it, so the terminal's line discipline sends SIGINT to the whole foreground
 * process group (npm, its shell, tsx, the simulator), as when a user presses it. The children
 * (moto, the fleet, the processor containers) run in process groups of their own, so one Ctrl-C
 * drains, prints the books and stops them by PID; a second one quits at once, still killing them
 * and removing the connection file and the device key. Also: SIGTERM to npm's process group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bundleProcessor } from '../../scripts/bundle';
import { ROOT } from '../../scripts/lib/paths';

/** Running (a zombie, killed and not yet reaped by PID 1, is not). */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
};

/** Every PID the run printed: moto's, the fleet's, and those of the summary's "stopped by PID" line. */
function pidsIn(output: string): number[] {
  const pids = [...output.matchAll(/\(pid (\d+)\)|\(fleet pid (\d+)\)/g)].map((m) => Number(m[1] ?? m[2]));
  const stopped = /stopped by PID: (.*)/.exec(output)?.[1] ?? '';
  return [...new Set([...pids, ...[...stopped.matchAll(/\b(\d{2,})\b/g)].map((m) => Number(m[1]))])];
}

const connectionDir = (output: string) => {
  const file = /Local connection: (\S+connection\.json)/.exec(output)?.[1];
  return file ? dirname(file) : undefined;
};

interface Run {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the output matches. */
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<void>;
  exited: Promise<number | null>;
}

function start(command: string[], options: { terminal: boolean }): Run {
  const npm = ['npm', 'run', 'simulate', '--', ...command].join(' ');
  const child = options.terminal
    ? spawn('script', ['-qfec', npm, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    : // Its own process group, with npm as the leader: a signal to -pid reaches npm and what it started.
      spawn('npm', ['run', 'simulate', '--', ...command], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const feed = (chunk: Buffer) => {
    output += chunk.toString();
    for (const w of waiters.splice(0)) (w.pattern.test(output) ? w.resolve() : waiters.push(w));
  };
  child.stdout!.on('data', feed);
  child.stderr!.on('data', feed);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  running.add(child);
  void exited.then(() => running.delete(child));
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(output)) return resolve();
        const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
        void exited.then(() => setTimeout(() => reject(new Error(`exited before ${pattern}; output:\n${output}`)), 100));
      }),
  };
}

const FLEET = ['--sensors', '4', '--zones', '2', '--port', '0'];

/** Runs still going when a test fails: stopped as a user would, twice SIGINT (the quick exit removes the keys too). */
const running = new Set<ChildProcess>();
afterEach(async () => {
  for (const child of running) {
    for (const delayMs of [0, 1_000]) {
      await new Promise((r) => setTimeout(r, delayMs));
      if (child.stdin?.writable) child.stdin.write('\x03'); // the terminal's Ctrl-C
      else process.kill(-child.pid!, 'SIGINT'); // npm leads its own process group
    }
  }
});

/** The books of a graceful stop: everything accounted for, nothing killed under a reading. */
function expectCleanBooks(output: string): void {
  expect(output).toContain('Summary: 4 sensors');
  expect(output).toMatch(/published \d+ = stored \d+ \+ quarantined \d+ \+ rule errors 0 \+ dead-lettered 0 \+ in flight 0; lost 0/);
  expect(output).not.toMatch(/ECONNREFUSED|container exited|Kinesis action failed|on-failure destination/);
}

describe('npm run simulate in a terminal', () => {
  // npm run simulate runs the bundle in dist/: the one of this checkout's code.
  beforeAll(() => bundleProcessor(), 120_000);

  it('one Ctrl-C: drains, prints the books (lost 0, rule errors 0), stops every process by PID, removes the connection file and keys', async () => {
    const run = start(FLEET, { terminal: true });
    await run.waitFor(/stored [1-9]\d* quarantined/, 180_000);
    run.child.stdin!.write('\x03');
    const code = await run.exited;
    const output = run.output();
    // npm reports the Ctrl-C it got too: 130 (128 + SIGINT), as for any program stopped by Ctrl-C.
    expect([0, 130], output).toContain(code);
    expect(output).toContain('Ctrl-C: stopping; waiting for the readings in flight');
    expectCleanBooks(output);
    const pids = pidsIn(output);
    expect(pids.length, output).toBeGreaterThanOrEqual(3);
    expect(pids.filter(alive)).toEqual([]);
    const dir = connectionDir(output);
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  }, 300_000);

  it('a second Ctrl-C quits at once, still killing every child and removing the keys', async () => {
    const run = start(FLEET, { terminal: true });
    await run.waitFor(/sensors connected over mutual TLS/, 180_000);
    await run.waitFor(/Local connection: /, 30_000);
    run.child.stdin!.write('\x03');
    await run.waitFor(/Ctrl-C: stopping/, 10_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const pressed = Date.now();
    run.child.stdin!.write('\x03');
    const code = await run.exited;
    const output = run.output();
    expect(Date.now() - pressed).toBeLessThan(15_000);
    expect(code).not.toBe(0);
    expect(output).toContain('SIGINT again: quitting at once');
    expect(output).not.toContain('Summary:');
    expect(pidsIn(output).filter(alive)).toEqual([]);
    expect(existsSync(connectionDir(output)!)).toBe(false);
  }, 300_000);

  it('SIGTERM to npm\'s process group: the same graceful stop', async () => {
    const run = start(FLEET, { terminal: false });
    await run.waitFor(/stored [1-9]\d* quarantined/, 180_000);
    process.kill(-run.child.pid!, 'SIGTERM');
    await run.exited;
    const output = run.output();
    expect(output).toContain('SIGTERM: stopping');
    expectCleanBooks(output);
    expect(pidsIn(output).filter(alive)).toEqual([]);
    expect(existsSync(connectionDir(output)!)).toBe(false);
  }, 300_000);
});
