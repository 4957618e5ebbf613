/**
 * The processor's configuration, read once from the environment the template sets. Variables,
 * types and ranges are declared in contract/env.ts, the same declaration the template sets them from.
 */
import { PROCESSOR_RESOURCES, PROCESSOR_SETTINGS, type NumberSettingName, type ProcessorResource } from '../../contract';
import type { Thresholds } from './core/types';
import { ProcessorConfigError } from './errors';

export { ProcessorConfigError };

export interface ProcessorConfig extends Record<ProcessorResource, string> {
  metricsNamespace: string;
  thresholds: Thresholds;
  cooldownMs: number;
  zoneIndexShards: number;
  ttlDays: number;
  streamRetentionHours: number;
}

/** Reads and checks every variable; one error lists every problem. */
export function readConfig(env: Record<string, string | undefined>): ProcessorConfig {
  const problems: string[] = [];
  const text = (name: string) => {
    const value = env[name];
    if (!value) problems.push(`${name} is not set`);
    return value ?? '';
  };
  const number = (setting: NumberSettingName) => {
    const { env: name, min, max } = PROCESSOR_SETTINGS[setting];
    const step = 'step' in PROCESSOR_SETTINGS[setting] ? (PROCESSOR_SETTINGS[setting] as { step: number }).step : undefined;
    const raw = env[name];
    const value = Number(raw);
    if (raw === undefined || raw === '' || !Number.isFinite(value) || value < min || value > max) {
      problems.push(`${name}: got ${raw === undefined ? 'nothing' : `"${raw}"`}, expected a number from ${min} to ${max}`);
    } else if (step !== undefined && value % step !== 0) {
      problems.push(`${name}: got "${raw}", expected a multiple of ${step}`);
    }
    return value;
  };
  const resources = Object.fromEntries(
    Object.entries(PROCESSOR_RESOURCES).map(([key, binding]) => [key, text(binding.env)]),
  ) as Record<ProcessorResource, string>;
  const config: ProcessorConfig = {
    ...resources,
    metricsNamespace: text(PROCESSOR_SETTINGS.metricsNamespace.env),
    thresholds: {
      warning: number('warningThreshold'),
      critical: number('criticalThreshold'),
      hysteresis: number('alertHysteresisPoints'),
    },
    cooldownMs: number('alertCooldownSeconds') * 1000,
    zoneIndexShards: number('zoneIndexShards'),
    ttlDays: number('readingTtlDays'),
    streamRetentionHours: number('streamRetentionHours'),
  };
  const { warningThreshold: w, criticalThreshold: c } = PROCESSOR_SETTINGS;
  if (config.thresholds.critical <= config.thresholds.warning) {
    problems.push(`${c.env} (${config.thresholds.critical}) must be above ${w.env} (${config.thresholds.warning})`);
  }
  if (problems.length > 0) throw new ProcessorConfigError(`Invalid processor configuration: ${problems.join('; ')}`);
  return config;
}
