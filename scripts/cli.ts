/**
 * Command-line flags for the scripts: node:util parseArgs, with errors that name the command, the
 * flag and what it takes; `--help`/`-h` prints the usage; a flag given twice is an error; a
 * negative number after a flag is that flag's value (then a value error), not an unknown option.
 */
import { parseArgs } from 'node:util';
import { TemplateError } from '../template/errors';

/** Every error a script reports as one plain line (no stack): what went wrong and what to do. */
export class CliError extends Error {
  override name = 'CliError';
  /** Process exit code. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bad flags or values: exit code 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  override readonly exitCode: number = 2;
}

/** `--help` or `-h`: the message is the usage, printed to stdout with exit code 0. */
export class HelpRequested extends CliError {
  override name = 'HelpRequested';
  override readonly exitCode: number = 0;
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** What the flag takes, for error messages and --help. */
  help: string;
  required?: boolean;
}

/** The usage text of a command: `npm run <command> -- <flags>`, one line per flag. */
export function usage(command: string, specs: Record<string, FlagSpec>, about?: string): string {
  const flags = Object.entries(specs).map(([name, s]) => {
    const left = `--${name}${s.type === 'string' ? ' <value>' : ''}`;
    return `  ${left.padEnd(28)} ${s.help}${s.required ? ' (required)' : ''}`;
  });
  return [
    `Usage: npm run ${command} -- ${Object.entries(specs)
      .map(([name, s]) => (s.required ? `--${name} <value>` : `[--${name}${s.type === 'string' ? ' <value>' : ''}]`))
      .join(' ')}`,
    ...(about ? ['', about] : []),
    '',
    ...flags,
    `  ${'--help, -h'.padEnd(28)} print this help`,
  ].join('\n');
}

/** `3 certificates`, `1 certificate`: a count with its noun (en-US digit grouping); `plural` when adding an s is wrong. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? singular : plural}`;
}

/** A negative number as a token: `-5`, `-0.5`, `-1e3`. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Parses argv against the flag specs. Throws HelpRequested for --help/-h, UsageError (prefixed by
 * the command name) for an unknown flag, a missing value, a flag given twice or a missing required
 * flag.
 */
export function parseFlags<T extends Record<string, FlagSpec>>(
  command: string,
  argv: string[],
  specs: T,
  about?: string,
): { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string } {
  const allowed = Object.entries(specs)
    .map(([name, s]) => `--${name}${s.type === 'string' ? ` <${s.help}>` : ''}`)
    .join(' ');
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(usage(command, specs, about));
  // `--sensors -5`: parseArgs reads -5 as an option ("argument is ambiguous"); it is the value.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const name = token.startsWith('--') && !token.includes('=') ? token.slice(2) : undefined;
    const next = argv[i + 1];
    if (name && specs[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      args.push(`${token}=${next}`);
      i++;
    } else {
      args.push(token);
    }
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, { type: s.type }])),
      strict: true,
      allowPositionals: false,
      tokens: true,
    });
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message)?.[1];
    const missing = /Option '(--[^ ]+)[^']*' argument missing/.exec(message)?.[1];
    const positional = /Unexpected argument '([^']+)'/.exec(message)?.[1];
    if (unknown) throw new UsageError(`${command}: unknown flag ${unknown}; allowed: ${allowed}`, { cause: error });
    if (missing) throw new UsageError(`${command}: ${missing} needs a value (${specs[missing.slice(2)]?.help}); allowed: ${allowed}`, { cause: error });
    if (positional) throw new UsageError(`${command}: unexpected argument '${positional}' (every value follows its flag); allowed: ${allowed}`, { cause: error });
    throw new UsageError(`${command}: ${message.split('\n')[0]}; allowed: ${allowed}`, { cause: error });
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) throw new UsageError(`${command}: --${token.name} is given more than once; give it once`);
    seen.add(token.name);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && values[name] === undefined) {
      throw new UsageError(`${command}: --${name} <${spec.help}> is required; allowed: ${allowed}`);
    }
  }
  return values as never;
}

/**
 * parseFlags over this process's arguments, for a script whose work runs at its top level: --help
 * prints the usage and exits 0 before any work, a bad flag prints its one line and exits 2.
 */
export function scriptFlags<T extends Record<string, FlagSpec>>(command: string, specs: T, about?: string): ReturnType<typeof parseFlags<T>> {
  try {
    return parseFlags(command, process.argv.slice(2), specs, about);
  } catch (error) {
    if (error instanceof HelpRequested) console.log(error.message);
    else console.error(errorText(command, error));
    process.exit(error instanceof CliError ? error.exitCode : 1);
  }
}

/**
 * A numeric flag: the value or the default; a clear error naming the flag for anything that is not
 * a number, a negative number (unless `min` allows it) or, with `integer`, a fraction.
 */
export function numberFlag(
  command: string,
  name: string,
  raw: string | undefined,
  fallback: number,
  limits: { min?: number; max?: number; integer?: boolean } = {},
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const { min = 0, max, integer = false } = limits;
  if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${command}: --${name} takes a number, got '${raw}'`);
  if (value < min) {
    throw new UsageError(`${command}: --${name} must be ${min === 0 ? 'zero or more (not negative)' : `at least ${min}`}, got ${raw}`);
  }
  if (max !== undefined && value > max) throw new UsageError(`${command}: --${name} must be at most ${max}, got ${raw}`);
  if (integer && !Number.isInteger(value)) throw new UsageError(`${command}: --${name} must be a whole number, got ${raw}`);
  return value;
}

/**
 * What an SDK error says when the answer was not an AWS answer (an emulator's HTML page, a JSON
 * error to an XML protocol): the HTTP status and the start of the body, instead of the parser's
 * "@aws-sdk XML parse error" or "Unexpected token '<'". Undefined for any other error.
 */
export function unreadableAnswer(error: unknown): string | undefined {
  const e = error as { message?: string; $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number; body?: unknown } };
  const message = e?.message ?? '';
  if (!/Deserialization error|XML parse error|Unexpected token|is not valid JSON/.test(message)) return undefined;
  const status = e.$response?.statusCode ?? e.$metadata?.httpStatusCode;
  const body = typeof e.$response?.body === 'string' ? e.$response.body : '';
  const excerpt = (body || message.split('\n')[0]!).replace(/\s+/g, ' ').trim().slice(0, 160);
  return `the service answered HTTP ${status ?? '?'} with a body that is not an AWS answer (${excerpt})`;
}

/**
 * The text a script prints for an error: CliError and template/plan input errors as they are,
 * others with their name; every line of it (an error listing several problems lists each on its
 * own line), the first prefixed by the command name.
 */
export function errorText(command: string | undefined, error: unknown): string {
  const e = error instanceof Error ? error : new Error(String(error));
  const known = e instanceof CliError || e instanceof TemplateError;
  const unreadable = known ? undefined : unreadableAnswer(e);
  const text = known ? e.message : unreadable ? `AWS call failed: ${unreadable}` : `${e.name}: ${e.message}`;
  const [first, ...rest] = text.split('\n').filter((line, i) => i === 0 || line.trim() !== '');
  const head = command && !first!.startsWith(`${command}:`) ? `${command}: ${first}` : first!;
  return [head, ...rest.map((line) => (line.startsWith(' ') ? line : `  ${line}`))].join('\n');
}

/**
 * Runs a script's main: HelpRequested prints the usage (exit 0); any other error goes to stderr
 * (errorText: one line, or one line per problem), prefixed by the command name when given, with a non-zero exit (2 for usage errors).
 * `runMain(main)` and `runMain('deploy', main)` both work.
 */
export async function runMain(commandOrMain: string | (() => Promise<void>), maybeMain?: () => Promise<void>): Promise<void> {
  const command = typeof commandOrMain === 'string' ? commandOrMain : undefined;
  const main = typeof commandOrMain === 'string' ? maybeMain! : commandOrMain;
  try {
    await main();
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(error.message);
      process.exitCode = 0;
      return;
    }
    console.error(errorText(command, error));
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  }
}
