/**
 * One settings mechanism for the three functions of the bundle: one reader (function-env.ts) with
 * one error listing every problem, settings shared with the processor declared once (the detector's
 * and the console's name the processor's), and each function's environment in the template derived
 * from those declarations (src/functions.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  CONSOLE_RESOURCES,
  CONSOLE_SETTINGS,
  DETECTOR_RESOURCES,
  DETECTOR_SETTINGS,
  FUNCTION_SETTINGS,
  PROCESSOR_RESOURCES,
  PROCESSOR_SETTINGS,
  type NumberSetting,
} from '../../contract';
import { readDetectorConfig } from '../../handlers/detector/detector';
import { readConfig } from '../../handlers/processor/config';
import { readConsoleConfig } from '../../handlers/processor/console-api';
import { ProcessorConfigError } from '../../handlers/processor/errors';
import { numberProblem, readFunctionEnv } from '../../handlers/processor/function-env';
import { buildTemplate } from '../../src/index';
import { parameterOfSetting } from '../../src/parameters';
import { consoleApiEnv, detectorEnv, processorEnv } from '../../scripts/lib/processor-env';

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

describe('settings declared once', () => {
  it('the detector and the console API name the processor\'s declaration of every variable they share with it', () => {
    const processorByEnv = new Map(Object.values(PROCESSOR_SETTINGS).map((s) => [s.env, s]));
    for (const settings of [DETECTOR_SETTINGS, CONSOLE_SETTINGS]) {
      for (const setting of Object.values(settings)) {
        const processor = processorByEnv.get(setting.env);
        if (processor) expect(setting).toBe(processor);
      }
    }
    expect(CONSOLE_SETTINGS.silentSensorPeriods).toBe(DETECTOR_SETTINGS.silentSensorPeriods);
  });

  it('one key is one variable, whichever function reads it', () => {
    const byEnv = new Map<string, string>();
    for (const [key, setting] of Object.entries(FUNCTION_SETTINGS)) {
      expect(byEnv.get(setting.env) ?? key).toBe(key);
      byEnv.set(setting.env, key);
    }
    for (const resources of [DETECTOR_RESOURCES, CONSOLE_RESOURCES]) {
      for (const [key, binding] of Object.entries(resources)) {
        const processor = (PROCESSOR_RESOURCES as Record<string, { env: string; resource: string }>)[key];
        if (processor) expect({ env: binding.env, resource: binding.resource }).toEqual({ env: processor.env, resource: processor.resource });
      }
    }
  });

  it('the template gives a variable the same value in every function that reads it', () => {
    const resources = buildTemplate().Resources as unknown as Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }>;
    const envs = ['ProcessorFunction', 'HealthDetectorFunction', 'ConsoleApiFunction'].map((id) => resources[id]!.Properties.Environment.Variables);
    const seen = new Map<string, string>();
    let shared = 0;
    for (const variables of envs) {
      for (const [name, value] of Object.entries(variables)) {
        const json = JSON.stringify(value);
        if (seen.has(name)) {
          shared++;
          expect(json, name).toBe(seen.get(name));
        }
        seen.set(name, json);
      }
    }
    expect(shared).toBeGreaterThanOrEqual(10);
  });

  it('every number setting fed by a parameter takes its range from the setting', () => {
    for (const [key, setting] of Object.entries(FUNCTION_SETTINGS)) {
      if (setting.kind !== 'number' || !parameterOfSetting(key)) continue;
      const parameter = (buildTemplate().Parameters as unknown as Record<string, unknown>)[parameterOfSetting(key)!] as { MinValue?: number; MaxValue?: number; AllowedValues?: number[] };
      if (parameter.AllowedValues) expect(parameter.AllowedValues.every((v) => v >= setting.min && v <= setting.max), key).toBe(true);
      else expect([parameter.MinValue, parameter.MaxValue], key).toEqual([setting.min, setting.max]);
    }
  });
});
