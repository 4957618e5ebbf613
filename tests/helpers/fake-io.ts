/** A virtual clock for adapter tests: sleeping advances time instantly, so deadlines are exact. */
import { DEFAULT_IO, type IoContext } from '../../handlers/processor/io';

export function fakeIo(budgetMs = 10_000, overrides: Partial<IoContext> = {}) {
  let now = 1_700_000_000_000;
  const sleeps: number[] = [];
  const io: IoContext = {
    ...DEFAULT_IO,
    callTimeoutMs: 200,
    deadlineMs: now + budgetMs,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random: () => 0.5,
    log: () => undefined,
    ...overrides,
  };
  return { io, sleeps, advance: (ms: number) => (now += ms) };
}

export const silentLog = () => undefined;
