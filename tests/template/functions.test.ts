/**
 * The bundle's functions built one way (template/functions.ts): the settings the detector and the
 * console API share with the processor are the processor's declarations (contract/env.ts), and the
 * template gives a shared variable the same value in every function that reads it.
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
} from '../../contract';
import { buildTemplate } from '../../template/index';
import { parameterOfSetting } from '../../template/parameters';

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

  it('a setting no parameter feeds is set to the value it declares, within its range, in every function that reads it', () => {
    const resources = buildTemplate().Resources as unknown as Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }>;
    const functions = { ProcessorFunction: PROCESSOR_SETTINGS, HealthDetectorFunction: DETECTOR_SETTINGS, ConsoleApiFunction: CONSOLE_SETTINGS };
    let declared = 0;
    for (const [id, settings] of Object.entries(functions)) {
      for (const [key, setting] of Object.entries(settings)) {
        if (!('value' in setting) || setting.value === undefined) continue;
        declared++;
        expect(parameterOfSetting(key), `${key} declares a value and is fed by a parameter`).toBeUndefined();
        expect(setting.value).toBeGreaterThanOrEqual(setting.min);
        expect(setting.value).toBeLessThanOrEqual(setting.max);
        expect(resources[id]!.Properties.Environment.Variables[setting.env], `${id} ${setting.env}`).toBe(String(setting.value));
      }
    }
    expect(declared).toBeGreaterThanOrEqual(1);
  });
});
