/**
 * CPU time of the simulation's processes, from /proc/<pid>/stat (utime + stime, in clock ticks;
 * Linux only: elsewhere the shares are unknown). Used to say where the bottleneck is.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: 100 on every Linux architecture Node runs on (times(2)). */
const TICKS_PER_SECOND = 100;

export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The machine's load over the last minute and its cores (/proc/loadavg), to report how shared it was. */
export function loadAverage(): number | undefined {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** Accumulates CPU seconds per role over a run (a role may be several processes, e.g. containers). */
export class CpuMeter {
  private last = new Map<number, number>();
  readonly seconds: Record<string, number> = {};
  private started = Date.now();

  sample(roles: Record<string, number[]>): void {
    for (const [role, pids] of Object.entries(roles)) {
      for (const pid of pids) {
        const now = cpuSeconds(pid);
        if (now === undefined) continue;
        const before = this.last.get(pid) ?? now;
        this.last.set(pid, now);
        this.seconds[role] = (this.seconds[role] ?? 0) + (now - before);
      }
    }
  }

  /** Per role: CPU seconds per wall-clock second (1 = one core busy all the time). */
  shares(): Record<string, number> {
    const wall = (Date.now() - this.started) / 1000;
    return Object.fromEntries(Object.entries(this.seconds).map(([role, s]) => [role, Math.round((s / wall) * 100) / 100]));
  }
}
