/**
 * The one reader of a function's environment (the processor, the detector, the console API): each
 * resource binding must be set, each text setting set, each number setting a number within its
 * range (a whole one where the setting says so, a multiple of its step where it has one), as
 * declared in contract/env.ts, the declaration the template sets them from. `checks` adds the
 * problems only several values together show. One error lists every problem.
 */
import type { NumberSetting, ResourceBinding, TextSetting } from '../../contract';
import { ProcessorConfigError } from './errors';

type Settings = Record<string, NumberSetting | TextSetting>;

/** A function's configuration: its resources' names or ARNs, and its settings (numbers as numbers). */
export type FunctionConfig<R extends string, S extends Settings> = Record<R, string> & {
  [K in keyof S]: S[K]['kind'] extends 'number' ? number : string;
};

/** The problem with a number setting's raw value, or undefined when it is within the declaration. */
export function numberProblem({ env: name, min, max, step, whole }: NumberSetting, raw: string | undefined): string | undefined {
  const value = Number(raw);
  if (raw === undefined || raw === '' || !(whole ? Number.isInteger(value) : Number.isFinite(value)) || value < min || value > max) {
    return `${name}: got ${raw === undefined ? 'nothing' : `"${raw}"`}, expected a ${whole ? 'whole ' : ''}number from ${min} to ${max}`;
  }
  if (step !== undefined && value % step !== 0) return `${name}: got "${raw}", expected a multiple of ${step}`;
  return undefined;
}

export function readFunctionEnv<R extends string, S extends Settings>(
  what: string,
  resources: Record<R, Pick<ResourceBinding, 'env'>>,
  settings: S,
  env: Record<string, string | undefined>,
  checks: (config: FunctionConfig<R, S>) => string[] = () => [],
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
    const problem = numberProblem(setting, raw);
    if (problem) problems.push(problem);
    values[key] = Number(raw);
  }
  const config = values as FunctionConfig<R, S>;
  problems.push(...checks(config));
  if (problems.length > 0) throw new ProcessorConfigError(`Invalid ${what} configuration: ${problems.join('; ')}`);
  return config;
}
