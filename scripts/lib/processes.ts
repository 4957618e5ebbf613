/** Child processes the scripts start, stopped by their PID. */
import type { ChildProcess } from 'node:child_process';

/** SIGTERM to the child's PID, then SIGKILL if it is still running after `killAfterMs`; resolves when it has exited. */
export function stopChild(child: ChildProcess, killAfterMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    process.kill(child.pid!, 'SIGTERM');
    setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), killAfterMs).unref();
  });
}
