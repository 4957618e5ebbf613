/**
 * What a simulation owns outside its own process: child processes (moto, the fleet, the processor
 * containers, each in a process group of its own so that a terminal's Ctrl-C reaches only the
 * simulator) and files (the unpacked bundle, the connection file and any exported device key).
 * The simulator stops them gracefully in order; `stopNow` is the last resort, synchronous, for a
 * second Ctrl-C or an exit on any other path: every owned process killed by PID, every owned file
 * removed. It runs on every exit of the process.
 */
import { rmSync } from 'node:fs';

const pids = new Set<number>();
const paths = new Set<string>();

export const owned = {
  process(pid: number | undefined): void {
    if (pid) pids.add(pid);
  },
  released(pid: number | undefined): void {
    if (pid) pids.delete(pid);
  },
  path(path: string): void {
    paths.add(path);
  },
  removed(path: string): void {
    rmSync(path, { recursive: true, force: true });
    paths.delete(path);
  },
  /** What is owned now (for tests and the summary). */
  list: () => ({ pids: [...pids], paths: [...paths] }),
};

/** Kills every owned process (SIGKILL, by PID) and removes every owned file, at once. */
export function stopNow(): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  pids.clear();
  for (const path of paths) rmSync(path, { recursive: true, force: true });
  paths.clear();
}

process.on('exit', stopNow);
