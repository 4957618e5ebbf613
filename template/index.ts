/** buildTemplate(config): the whole TapStack template, composed from its layers. Pure. */
import type Output from 'cloudform-types/types/output';
import type { AlarmSpec } from './alarms';
import { DEFAULTS, validateConfig, type StackConfig } from './config';
import type { Layer } from './layer';
import { buildAlerting } from './layers/alerting';
import { buildAnalytics } from './layers/analytics';
import { buildConsole } from './layers/console';
import { buildHealth } from './layers/health';
import { buildIngestion } from './layers/ingestion';
import { buildMonitoring } from './layers/monitoring';
import { buildProcessing } from './layers/processing';
import { buildProvisioning } from './layers/provisioning';
import { buildSecurity } from './layers/security';
import { buildStorage } from './layers/storage';
import { buildStream } from './layers/stream';
import { buildConditions, buildInterface, buildParameters, buildRules } from './parameters';

/**
 * The layers, in template order. Each takes the slice of the config it uses; monitoring also takes
 * the alarms the others declare.
 */
export const LAYERS = {
  security: buildSecurity,
  ingestion: buildIngestion,
  stream: buildStream,
  processing: buildProcessing,
  storage: buildStorage,
  alerting: buildAlerting,
  analytics: buildAnalytics,
  provisioning: buildProvisioning,
  health: buildHealth,
  console: buildConsole,
  monitoring: (config: StackConfig, alarms: AlarmSpec[] = []) => buildMonitoring(config, alarms),
} as const satisfies Record<string, (config: StackConfig, alarms: AlarmSpec[]) => Layer>;

/** A resource after serialisation: plain JSON, intrinsics in their `{ "Fn::…": … }` form. */
export interface TemplateResource {
  Type: string;
  Properties: Record<string, any>;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: unknown;
  UpdateReplacePolicy?: unknown;
}

/** The template as a plain JSON-ready object (intrinsics already in their JSON form). */
export interface TemplateDocument {
  AWSTemplateFormatVersion: '2010-09-09';
  Transform: string;
  Description: string;
  Metadata: Record<string, unknown>;
  Parameters: Record<string, unknown>;
  Rules: Record<string, unknown>;
  Conditions: Record<string, unknown>;
  Resources: Record<string, TemplateResource>;
  Outputs: Record<string, Output>;
}

/** What the layers build for a configuration: every resource, output and alarm, in template order. */
export function buildLayers(config: StackConfig): { resources: Record<string, unknown>; outputs: Record<string, Output>; alarms: AlarmSpec[] } {
  const resources: Record<string, unknown> = {};
  const outputs: Record<string, Output> = {};
  const alarms: AlarmSpec[] = [];
  for (const [layer, build] of Object.entries(LAYERS)) {
    const built = build(config, alarms);
    alarms.push(...(built.alarms ?? []));
    for (const [id, resource] of Object.entries(built.resources)) {
      if (id in resources) throw new Error(`Logical ID ${id} is built by two layers (second: ${layer})`);
      resources[id] = resource;
    }
    Object.assign(outputs, built.outputs);
  }
  return { resources, outputs, alarms };
}

/** The whole template for a configuration (validated first); the defaults build templates/TapStack.yml. */
export function buildTemplate(config: StackConfig = DEFAULTS): TemplateDocument {
  validateConfig(config);
  const { resources, outputs } = buildLayers(config);
  const template = {
    AWSTemplateFormatVersion: '2010-09-09',
    // Lets DeletionPolicy/UpdateReplacePolicy take Fn::If (retain unless a throwaway environment).
    Transform: 'AWS::LanguageExtensions',
    Description:
      'TapStack: real-time traffic monitoring for 50,000 road sensors. IoT Core -> Kinesis -> Lambda -> DynamoDB; ' +
      'EventBridge -> SNS alerts; Firehose -> S3 -> Athena -> QuickSight; CloudWatch alarms and dashboard.',
    Metadata: buildInterface(),
    Parameters: buildParameters(config.parameters),
    Rules: buildRules(),
    Conditions: buildConditions(),
    Resources: resources,
    Outputs: outputs,
  };
  // Intrinsic functions and cloudform classes become plain JSON here, once.
  return JSON.parse(JSON.stringify(template)) as TemplateDocument;
}
