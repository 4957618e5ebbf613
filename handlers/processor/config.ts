/**
 * The processor's configuration, read once from the environment the template sets. Variables,
 * types and ranges are declared in contract/env.ts, the same declaration the template sets them
 * from, and read by the one reader every function uses (function-env.ts): every setting is read by
 * its key, so a new one needs no change to this file.
 */
import { PROCESSOR_RESOURCES, PROCESSOR_SETTINGS, type ProcessorResource } from '../../contract';
import type { Thresholds } from './core/types';
import { ProcessorConfigError } from './errors';
import { readFunctionEnv, type FunctionConfig } from './function-env';

export { ProcessorConfigError };

/** Every setting by its key: numbers as numbers, text as text. */
export type ProcessorSettings = Omit<FunctionConfig<ProcessorResource, typeof PROCESSOR_SETTINGS>, ProcessorResource>;

export interface ProcessorConfig extends FunctionConfig<ProcessorResource, typeof PROCESSOR_SETTINGS> {
  /** The alert thresholds, from the three settings that make them. */
  thresholds: Thresholds;
  cooldownMs: number;
}

/** Reads and checks every variable; one error lists every problem. */
export function readConfig(env: Record<string, string | undefined>): ProcessorConfig {
  const { warningThreshold: w, criticalThreshold: c } = PROCESSOR_SETTINGS;
  const settings = readFunctionEnv('processor', PROCESSOR_RESOURCES, PROCESSOR_SETTINGS, env, (s) =>
    s.criticalThreshold <= s.warningThreshold ? [`${c.env} (${s.criticalThreshold}) must be above ${w.env} (${s.warningThreshold})`] : [],
  );
  return {
    ...settings,
    thresholds: { warning: settings.warningThreshold, critical: settings.criticalThreshold, hysteresis: settings.alertHysteresisPoints },
    cooldownMs: settings.alertCooldownSeconds * 1000,
  };
}
