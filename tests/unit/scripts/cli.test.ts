import { describe, expect, it } from 'vitest';
import { errorText, HelpRequested, numberFlag, parseFlags, UsageError } from '../../../scripts/cli';
import { planInputFromArgv } from '../../../scripts/plan';

const SPECS = {
  sensors: { type: 'string', help: 'number of sensors', required: true },
  json: { type: 'boolean', help: 'print JSON' },
} as const;

describe('parseFlags', () => {
  it('answers --help and -h with the usage', () => {
    for (const flag of ['--help', '-h']) {
      const error = (() => {
        try {
          parseFlags('plan', [flag], SPECS, 'Capacity for a city.');
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(HelpRequested);
      expect((error as HelpRequested).exitCode).toBe(0);
      expect((error as Error).message).toBe(
        'Usage: npm run plan -- --sensors <value> [--json]\n\nCapacity for a city.\n\n' +
          '  --sensors <value>            number of sensors (required)\n  --json                       print JSON\n  --help, -h                   print this help',
      );
    }
  });

  it('takes a negative number as the flag value, so the value check can name the flag', () => {
    expect(parseFlags('plan', ['--sensors', '-5'], SPECS).sensors).toBe('-5');
    expect(() => planInputFromArgv(['--sensors', '-5', '--hz', '1'])).toThrow('plan: --sensors must be zero or more (not negative), got -5');
    expect(() => planInputFromArgv(['--sensors', '50000', '--hz', '-0.5'])).toThrow('plan: --hz must be zero or more (not negative), got -0.5');
  });

  it('refuses a flag given twice, naming it', () => {
    expect(() => parseFlags('plan', ['--sensors', '1', '--sensors', '2'], SPECS)).toThrow('plan: --sensors is given more than once; give it once');
    expect(() => parseFlags('plan', ['--sensors', '1', '--json', '--json'], SPECS)).toThrow('plan: --json is given more than once');
  });

  it('prefixes every error with the command name', () => {
    expect(() => parseFlags('plan', ['--sensorz', '1'], SPECS)).toThrow(/^plan: unknown flag --sensorz; allowed: --sensors <number of sensors> --json$/);
    expect(() => parseFlags('plan', ['--sensors'], SPECS)).toThrow(/^plan: --sensors needs a value/);
    expect(() => parseFlags('plan', [], SPECS)).toThrow(/^plan: --sensors <number of sensors> is required/);
    expect(() => parseFlags('plan', ['--sensors', '1', 'extra'], SPECS)).toThrow(/^plan: unexpected argument 'extra'/);
    expect(errorText('redrive', new Error('boom'))).toBe('redrive: Error: boom');
    expect(errorText('redrive', new UsageError('redrive: --env is required'))).toBe('redrive: --env is required');
  });
});

describe('numberFlag', () => {
  it('checks bounds and whole numbers when asked', () => {
    expect(numberFlag('x', 'n', undefined, 7)).toBe(7);
    expect(numberFlag('x', 'n', '0', 7)).toBe(0);
    expect(() => numberFlag('x', 'n', 'abc', 7)).toThrow("x: --n takes a number, got 'abc'");
    expect(() => numberFlag('x', 'n', '1.5', 7, { integer: true })).toThrow('x: --n must be a whole number, got 1.5');
    expect(() => numberFlag('x', 'n', '0', 7, { min: 1 })).toThrow('x: --n must be at least 1, got 0');
    expect(() => numberFlag('x', 'n', '11', 7, { max: 10 })).toThrow('x: --n must be at most 10, got 11');
    expect(numberFlag('x', 'n', '-3', 7, { min: -10 })).toBe(-3);
  });
});
