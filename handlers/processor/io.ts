/**
 * What every AWS call of an invocation shares: its deadline, clock, sleep, jitter, limits, logger
 * and latency (IoContext), and the count of calls made (CallCounter). Its own module: the sinks'
 * interface, the adapters and each function's entry point need these, none of them the AWS calls.
 */
import { jsonLogger, type Logger } from './log';

export interface IoContext {
  /** Epoch ms after which no call is started or retried (the invocation's time, less a margin). */
  deadlineMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** [0, 1): the jitter source. */
  random: () => number;
  /** A call that takes longer than this is abandoned and counts as a retryable failure. */
  callTimeoutMs: number;
  /** AWS calls in flight at once, per adapter. */
  concurrency: number;
  /** Backoff: the n-th retry waits random(0, min(cap, base × 2^n)) (full jitter). */
  backoffBaseMs: number;
  backoffCapMs: number;
  log: Logger;
  /** What this invocation's calls took: a retry starts only if one can still answer before the deadline. */
  latency?: CallLatency;
}

export const DEFAULT_IO = {
  callTimeoutMs: 3_000,
  /** The 50 window TransactWriteItems of a 10,000-record batch of 5,000 sensors go out in 2 rounds. */
  concurrency: 32,
  backoffBaseMs: 25,
  backoffCapMs: 1_000,
} as const;

/**
 * How long this invocation's calls took to answer (the longest of the last 32): what the next call
 * is expected to take. Time budgets come from the time left and this, not from a fixed timeout.
 */
export class CallLatency {
  private readonly recent: number[] = [];
  private next = 0;
  observe(ms: number): void {
    if (this.recent.length < LATENCY_SAMPLES) this.recent.push(ms);
    else this.recent[this.next] = ms;
    this.next = (this.next + 1) % LATENCY_SAMPLES;
  }
  /** 0 before any call answered. */
  expectedMs(): number {
    let max = 0;
    for (const ms of this.recent) if (ms > max) max = ms;
    return max;
  }
}
const LATENCY_SAMPLES = 32;

/** Calls made, by kind, for the benchmark and the logs. */
export class CallCounter {
  readonly counts: Record<string, number> = {};
  add(kind: string, n = 1): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + n;
  }
}

/** What a caller may tune of the calls (tests, benchmarks). */
export type IoTuning = Partial<Pick<IoContext, 'callTimeoutMs' | 'concurrency' | 'backoffBaseMs' | 'backoffCapMs'>>;

/**
 * The IoContext of one invocation of a function: calls stop at `deadlineMs`; the defaults, then
 * `tuning`; real time, sleep and jitter unless given; JSON log lines through `write`.
 */
export function invocationIo(options: {
  deadlineMs: number;
  now: () => number;
  write: (line: string) => void;
  tuning?: IoTuning;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  latency?: CallLatency;
}): IoContext {
  return {
    ...DEFAULT_IO,
    ...options.tuning,
    deadlineMs: options.deadlineMs,
    ...(options.latency ? { latency: options.latency } : {}),
    now: options.now,
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    random: options.random ?? Math.random,
    log: jsonLogger(options.write, options.now),
  };
}

/** A function's AWS clients, of which it uses only `send` (so that tests hand it fakes). */
export type SendOnly<Clients> = { [K in keyof Clients]: Pick<Clients[K], Extract<'send', keyof Clients[K]>> };

/**
 * What one of the bundle's functions runs with: its configuration and clients, and what tests and
 * benchmarks replace (clock, sleep, jitter, where log lines go); real ones by default.
 */
export interface FunctionDeps<Config, Clients> {
  config: Config;
  clients: SendOnly<Clients>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  write?: (line: string) => void;
}
