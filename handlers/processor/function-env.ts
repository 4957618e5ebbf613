/**
 * The variables of a function that is not the processor (the detector, the console API): each
 * resource binding must be set, each text setting set, each number setting a whole number within
 * its range (contract/health.ts, contract/console.ts). One error lists every problem.
 */
import type { NumberSetting, ResourceBinding, TextSetting } from '../../contract';
import { ProcessorConfigError } from './errors';

/** A function's configuration: its resources' names or ARNs, and its settings (numbers as numbers). */
export type FunctionConfig<R extends string, S extends Record<string, NumberSetting | TextSetting>> = Record<R, string> & {
  [K in keyof S]: S[K]['kind'] extends 'number' ? number : string;
};

export function readFunctionEnv<R extends string, S extends Record<string, NumberSetting | TextSetting>>(
  what: string,
  resources: Record<R, Pick<ResourceBinding, 'env'>>,
  settings: S,
  env: Record<string, string | undefined>,
): FunctionConfig<R, S> {
  const problems: string[] = [];
  const values: Record<string, string | number> = {};
  for (const [key, binding] of Object.entries<Pick<ResourceBinding, 'env'>>(resources)) {
    const value = env[binding.env];
    if (!value) problems.push(`${binding.env} is not set`);
    values[key] = value ?? '';
  }
  for (const [key, setting] of Object.entries<NumberSetting | TextSetting>(settings)) {
    const raw = env[setting.env];
    if (setting.kind === 'text') {
      if (!raw) problems.push(`${setting.env} is not set`);
      values[key] = raw ?? '';
      continue;
    }
    const { min, max } = setting;
    const value = Number(raw);
    if (raw === undefined || raw === '' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${setting.env}: got ${raw === undefined ? 'nothing' : `"${raw}"`}, expected a whole number from ${min} to ${max}`);
    }
    values[key] = value;
  }
  if (problems.length > 0) throw new ProcessorConfigError(`Invalid ${what} configuration: ${problems.join('; ')}`);
  return values as FunctionConfig<R, S>;
}
