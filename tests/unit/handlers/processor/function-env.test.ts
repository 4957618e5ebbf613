/**
 * function-env.ts: the one reader of the three functions' environments (the processor, the
 * detector, the console API): one error listing every problem, and a variable the functions share
 * checked the same way in each (the processor's declaration, contract/env.ts).
 */
import { describe, expect, it } from 'vitest';
import type { NumberSetting } from '../../../../contract';
import { readDetectorConfig } from '../../../../handlers/detector/detector';
import { readConfig } from '../../../../handlers/processor/config';
import { readConsoleConfig } from '../../../../handlers/processor/console-api';
import { ProcessorConfigError } from '../../../../handlers/processor/errors';
import { numberProblem, readFunctionEnv } from '../../../../handlers/processor/function-env';
import { consoleApiEnv, detectorEnv, processorEnv } from '../../../../scripts/lib/processor-env';

const WINDOW: NumberSetting = { env: 'W', kind: 'number', min: 1, max: 60 };

describe('the shared settings reader', () => {
  it('takes a number within the range, a whole one when the setting says so, a multiple of its step', () => {
    expect(numberProblem(WINDOW, '30')).toBeUndefined();
    expect(numberProblem(WINDOW, '2.5')).toBeUndefined();
    expect(numberProblem({ ...WINDOW, whole: true }, '2.5')).toBe('W: got "2.5", expected a whole number from 1 to 60');
    expect(numberProblem(WINDOW, '61')).toBe('W: got "61", expected a number from 1 to 60');
    expect(numberProblem(WINDOW, undefined)).toBe('W: got nothing, expected a number from 1 to 60');
    expect(numberProblem(WINDOW, '')).toBe('W: got "", expected a number from 1 to 60');
    expect(numberProblem({ ...WINDOW, step: 5 }, '12')).toBe('W: got "12", expected a multiple of 5');
  });

  it('lists every problem of every kind in one error, with the checks across values, naming the function', () => {
    const read = () =>
      readFunctionEnv('test', { table: { env: 'TABLE' } }, { name: { env: 'NAME', kind: 'text' }, low: { ...WINDOW, env: 'LOW' }, high: { ...WINDOW, env: 'HIGH' } }, { LOW: '50', HIGH: '10' }, (c) =>
        c.high <= c.low ? ['HIGH must be above LOW'] : [],
      );
    expect(read).toThrow(ProcessorConfigError);
    expect(read).toThrow('Invalid test configuration: TABLE is not set; NAME is not set; HIGH must be above LOW');
  });

  it('reads each function from the environment the template gives it', () => {
    expect(readConfig(processorEnv())).toMatchObject({ warningThreshold: 80, thresholds: { warning: 80 } });
    expect(readDetectorConfig(detectorEnv())).toMatchObject({ silentSensorPeriods: 5, zoneParentGroup: 'tapstack-zones' });
    expect(readConsoleConfig(consoleApiEnv())).toMatchObject({ warningThreshold: 80, criticalThreshold: 90 });
  });

  it('checks a variable the functions share the same way in each (the processor\'s declaration)', () => {
    const bad = { ROLLUP_WINDOW_SECONDS: '0', CRITICAL_THRESHOLD: '92' };
    const message = (read: () => unknown) => {
      try {
        read();
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected a configuration error');
    };
    const problem = 'ROLLUP_WINDOW_SECONDS: got "0", expected a number from 1 to 3600';
    expect(message(() => readConfig({ ...processorEnv(), ...bad }))).toContain(problem);
    expect(message(() => readDetectorConfig({ ...detectorEnv(), ...bad }))).toContain(problem);
    expect(message(() => readConsoleConfig({ ...consoleApiEnv(), ...bad }))).toContain(problem);
    expect(message(() => readConsoleConfig({ ...consoleApiEnv(), ...bad }))).toContain('CRITICAL_THRESHOLD: got "92", expected a multiple of 5');
  });
});
