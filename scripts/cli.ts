/** Command-line flags for the scripts: node:util parseArgs, with errors that name the flag and what it takes. */
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** What the flag takes, for error messages and --help. */
  help: string;
  required?: boolean;
}

export function parseFlags<T extends Record<string, FlagSpec>>(
  command: string,
  argv: string[],
  specs: T,
): { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string } {
  const allowed = Object.entries(specs)
    .map(([name, s]) => `--${name}${s.type === 'string' ? ` <${s.help}>` : ''}`)
    .join(' ');
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, { type: s.type }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message)?.[1];
    const missing = /Option '(--[^ ]+)[^']*' argument missing/.exec(message)?.[1];
    if (unknown) throw new UsageError(`${command}: unknown flag ${unknown}; allowed: ${allowed}`);
    if (missing) throw new UsageError(`${command}: ${missing} needs a value (${specs[missing.slice(2)]?.help}); allowed: ${allowed}`);
    throw new UsageError(`${command}: ${message.split('\n')[0]}; allowed: ${allowed}`);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && values[name] === undefined) {
      throw new UsageError(`${command}: --${name} <${spec.help}> is required; allowed: ${allowed}`);
    }
  }
  return values as never;
}

/** A numeric flag: the value or the default; a clear error for anything that is not a number. */
export function numberFlag(command: string, name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${command}: --${name} takes a number, got '${raw}'`);
  return value;
}

/** Runs a script's main, printing usage and AWS errors as one line with a non-zero exit. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    const e = error as Error;
    console.error(e.name === 'UsageError' || e.name === 'DeployError' || e.name === 'PlanInputError' ? e.message : `${e.name}: ${e.message}`);
    process.exitCode = e.name === 'UsageError' ? 2 : 1;
  }
}
