/**
 * The processor's configuration, read once from the environment the template sets. Variables,
 * types and ranges are declared in contract/env.ts, the same declaration the template sets them
 * from: every setting is read here by its key, so a new one needs no change to this file.
 */
import { PROCESSOR_RESOURCES, PROCESSOR_SETTINGS, type NumberSetting, type ProcessorResource, type ProcessorSetting } from '../../contract';
import type { Thresholds } from './core/types';
import { ProcessorConfigError } from './errors';

export { ProcessorConfigError };

/** Every setting by its key: numbers as numbers, text as text. */
export type ProcessorSettings = {
  [K in ProcessorSetting]: (typeof PROCESSOR_SETTINGS)[K]['kind'] extends 'number' ? number : string;
};

export interface ProcessorConfig extends Record<ProcessorResource, string>, ProcessorSettings {
  /** The alert thresholds, from the three settings that make them. */
  thresholds: Thresholds;
  cooldownMs: number;
}

/** Reads and checks every variable; one error lists every problem. */
export function readConfig(env: Record<string, string | undefined>): ProcessorConfig {
  const problems: string[] = [];
  const text = (name: string) => {
    const value = env[name];
    if (!value) problems.push(`${name} is not set`);
    return value ?? '';
  };
  const number = ({ env: name, min, max, step }: NumberSetting) => {
    const raw = env[name];
    const value = Number(raw);
    if (raw === undefined || raw === '' || !Number.isFinite(value) || value < min || value > max) {
      problems.push(`${name}: got ${raw === undefined ? 'nothing' : `"${raw}"`}, expected a number from ${min} to ${max}`);
    } else if (step !== undefined && value % step !== 0) {
      problems.push(`${name}: got "${raw}", expected a multiple of ${step}`);
    }
    return value;
  };
  const resources = Object.fromEntries(Object.entries(PROCESSOR_RESOURCES).map(([key, binding]) => [key, text(binding.env)]));
  const settings = Object.fromEntries(
    Object.entries(PROCESSOR_SETTINGS).map(([key, setting]) => [key, setting.kind === 'number' ? number(setting) : text(setting.env)]),
  ) as ProcessorSettings;
  const config: ProcessorConfig = {
    ...(resources as Record<ProcessorResource, string>),
    ...settings,
    thresholds: { warning: settings.warningThreshold, critical: settings.criticalThreshold, hysteresis: settings.alertHysteresisPoints },
    cooldownMs: settings.alertCooldownSeconds * 1000,
  };
  const { warningThreshold: w, criticalThreshold: c } = PROCESSOR_SETTINGS;
  if (config.thresholds.critical <= config.thresholds.warning) {
    problems.push(`${c.env} (${config.thresholds.critical}) must be above ${w.env} (${config.thresholds.warning})`);
  }
  if (problems.length > 0) throw new ProcessorConfigError(`Invalid processor configuration: ${problems.join('; ')}`);
  return config;
}
