/**
 * The processor's environment exactly as the template sets it, with the stack's default parameter
 * values: for the benchmark, the tests and local runs. Only the resource names differ per use.
 */
import { PROCESSOR_RESOURCES, type ProcessorResource } from '../../contract';
import { buildTemplate } from '../../src/index';
import { resolveTemplate } from './cfn-eval';

export type ProcessorResources = Record<ProcessorResource, string> & { metricsNamespace: string };

/** The function's environment block for these resource names (and overrides, by variable name). */
export function processorEnv(resources: ProcessorResources, overrides: Record<string, string> = {}): Record<string, string> {
  const fn = resolveTemplate(buildTemplate()).resources.ProcessorFunction!;
  const byLogicalId = new Map(
    Object.entries(PROCESSOR_RESOURCES).map(([key, binding]) => [binding.resource as string, resources[key as ProcessorResource]]),
  );
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.Properties.Environment.Variables as Record<string, unknown>)) {
    if (typeof value === 'string' || typeof value === 'number') env[name] = String(value);
    else if (value && typeof value === 'object' && 'Fn::Sub' in value) env[name] = resources.metricsNamespace;
    else {
      const target = (value as { Ref?: string; 'Fn::GetAtt'?: [string, string] }).Ref ?? (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const resolved = byLogicalId.get(target);
      if (resolved === undefined) throw new Error(`processorEnv: no name given for ${name} (resource ${target})`);
      env[name] = resolved;
    }
  }
  return { ...env, ...overrides };
}

/** Placeholder resource names, for runs where AWS is faked. */
export const EXAMPLE_RESOURCES: ProcessorResources = {
  tableName: 'readings',
  alertStateTableName: 'alert-state',
  eventBusName: 'bus',
  quarantineQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/quarantine',
  metricsNamespace: 'TapStack/test',
};
