/**
 * The processor's environment exactly as the template sets it, with the stack's default parameter
 * values: for the benchmark, the tests and local runs. Resources are named by their physical IDs
 * (what `Ref` gives: a table's name, a queue's URL; a bus's name), so a stack's resource list
 * fills it whatever bindings contract/env.ts declares.
 */
import { DETECTOR_RESOURCES, PROCESSOR_RESOURCES, PROCESSOR_SETTINGS } from '../../contract';
import { buildTemplate } from '../../template/index';
import { resolveTemplate } from './cfn-eval';

/** Logical ID → physical ID. */
export type PhysicalIds = Record<string, string>;

/** Names for runs where AWS is faked; any other bound resource gets `example-<logical id>`. */
export const EXAMPLE_PHYSICAL_IDS: PhysicalIds = {
  ReadingsTable: 'readings',
  AlertStateTable: 'alert-state',
  AlertBus: 'bus',
  SensorHealthTable: 'sensor-health',
  SensorStatusTable: 'status',
  QuarantineQueue: 'https://sqs.us-east-1.amazonaws.com/123456789012/quarantine',
  DeliveryStream: 'raw-readings',
};

export interface ProcessorEnvOptions {
  metricsNamespace?: string;
  /** Values by variable name, over the template's. */
  overrides?: Record<string, string>;
}

/** The function's environment block for these resources. */
export function processorEnv(physicalIds: PhysicalIds = EXAMPLE_PHYSICAL_IDS, options: ProcessorEnvOptions = {}): Record<string, string> {
  return functionEnv('ProcessorFunction', physicalIds, options);
}

/** The silent-sensor detector's environment block for these resources (same derivation as the processor's). */
export function detectorEnv(physicalIds: PhysicalIds = EXAMPLE_PHYSICAL_IDS, options: ProcessorEnvOptions = {}): Record<string, string> {
  return functionEnv('HealthDetectorFunction', physicalIds, options);
}

/** The console API's environment block for these resources (same derivation). */
export function consoleApiEnv(physicalIds: PhysicalIds = EXAMPLE_PHYSICAL_IDS, options: ProcessorEnvOptions = {}): Record<string, string> {
  return functionEnv('ConsoleApiFunction', physicalIds, options);
}

function functionEnv(logicalId: string, physicalIds: PhysicalIds, options: ProcessorEnvOptions): Record<string, string> {
  const fn = resolveTemplate(buildTemplate()).resources[logicalId]!;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.Properties.Environment.Variables as Record<string, unknown>)) {
    if (typeof value === 'string' || typeof value === 'number') env[name] = String(value);
    else if (value && typeof value === 'object' && 'Fn::Sub' in value) {
      // The metrics namespace as asked; any other name (the console's thing type) in the `test` environment.
      env[name] = name === PROCESSOR_SETTINGS.metricsNamespace.env ? (options.metricsNamespace ?? 'TapStack/test') : String(value['Fn::Sub']).replaceAll('${EnvironmentSuffix}', 'test');
    }
    else {
      const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      const target = v.Ref ?? v['Fn::GetAtt']![0];
      env[name] = physicalIds[target] ?? `example-${target}`;
    }
  }
  return { ...env, ...options.overrides };
}

/** The logical IDs of the resources the processor is bound to. */
export const BOUND_RESOURCES: readonly string[] = Object.values(PROCESSOR_RESOURCES).map((b) => b.resource);
/** The logical IDs of the resources the detector is bound to. */
export const DETECTOR_BOUND_RESOURCES: readonly string[] = Object.values(DETECTOR_RESOURCES).map((b) => b.resource);
