/**
 * The functions of the processor bundle (the processor, the silent-sensor detector, the console
 * API), built one way: each function's environment and role statements derive from its contract
 * (resource bindings and settings, contract/env.ts), its Lambda function is the bundle's with its
 * own handler, and its errors alarm is the same shape. A layer says only what is its own.
 */
import { IAM, Lambda } from 'cloudform-types';
import { metricsNamespace, type NumberSetting, type ResourceBinding, type TextSetting } from '../contract';
import type { MetricAlarmSpec } from './alarms';
import type { StackConfig } from './config';
import { tags, type TagConfig } from './defaults';
import { allow, arn, KMS_USE_ACTIONS, LOGS_WRITE_ACTIONS, policyDocument, type PolicyStatement } from './iam';
import { arnOf, getAtt, ref, sub } from './intrinsics';
import { alarmMetric, metric, type Metric } from './metrics';
import { LogicalId, physicalName, type LogicalIdName } from './names';
import { Param, param, parameterOfSetting } from './parameters';

type Settings = Record<string, NumberSetting | TextSetting>;

/**
 * A function's environment: each resource by its binding (its `Ref` or its `Name`), then each
 * setting from the template parameter that feeds it (`env: '<setting>'` in template/parameters.ts), or
 * from `values` (the metrics namespace is every function's); Lambda's source maps last.
 */
export function functionEnvironment(
  config: Pick<StackConfig, 'metricsNamespacePrefix'>,
  resources: Record<string, ResourceBinding>,
  settings: Settings,
  values: Record<string, unknown> = {},
): Record<string, unknown> {
  const fixed: Record<string, unknown> = { metricsNamespace: sub(metricsNamespace(config.metricsNamespacePrefix, '${EnvironmentSuffix}')), ...values };
  const variables: Record<string, unknown> = {};
  for (const binding of Object.values(resources)) {
    const id = binding.resource as LogicalIdName;
    variables[binding.env] = binding.value === 'Ref' ? ref(id) : getAtt(id, binding.value);
  }
  for (const [key, setting] of Object.entries(settings)) {
    const parameter = parameterOfSetting(key);
    const declared = 'value' in setting && setting.value !== undefined ? String(setting.value) : undefined;
    const value = parameter ? param(parameter) : (fixed[key] ?? declared);
    if (value === undefined) throw new Error(`Setting ${key} (${setting.env}) has neither a parameter nor a value`);
    variables[setting.env] = value;
  }
  return { ...variables, NODE_OPTIONS: '--enable-source-maps' };
}

/** The ARN a binding's grants are on: its `Arn`, its `Ref` (a topic), or built from its name. */
function bindingArn(binding: ResourceBinding): unknown {
  if (binding.arn === 'Ref') return ref(binding.resource);
  if (typeof binding.arn === 'object') return arn(binding.arn.service, `${binding.arn.resourceType}/\${${binding.resource}}`);
  return arnOf(binding.resource);
}

/**
 * A function role's statements: `first`, each grant of each resource binding (grants sharing a
 * statement id share one statement; `extraResources` adds resources to one), `then`, the stack's
 * key and the function's own log group.
 */
export function functionStatements(
  resources: Record<string, ResourceBinding>,
  logGroup: LogicalIdName,
  options: { first?: PolicyStatement[]; then?: PolicyStatement[]; extraResources?: Record<string, unknown[]> } = {},
): PolicyStatement[] {
  const bySid = new Map<string, { actions: readonly string[]; resources: unknown[] }>();
  for (const binding of Object.values(resources)) {
    const resourceArn = bindingArn(binding);
    for (const grant of binding.grants) {
      const resource = grant.index ? sub(`\${Table}/index/${grant.index}`, { Table: resourceArn }) : resourceArn;
      const statement = bySid.get(grant.sid) ?? { actions: grant.actions, resources: [] };
      statement.resources.push(resource);
      bySid.set(grant.sid, statement);
    }
  }
  for (const [sid, extra] of Object.entries(options.extraResources ?? {})) bySid.get(sid)?.resources.push(...extra);
  return [
    ...(options.first ?? []),
    ...[...bySid].map(([sid, s]) => allow(sid, s.actions, s.resources.length === 1 ? s.resources[0] : s.resources)),
    ...(options.then ?? []),
    allow('UseStackKey', KMS_USE_ACTIONS, arnOf(LogicalId.EncryptionKey)),
    allow('WriteOwnLogs', LOGS_WRITE_ACTIONS, sub('${LogGroupArn}:*', { LogGroupArn: arnOf(logGroup) })),
  ];
}

/** A role Lambda assumes, with its policies. */
export const lambdaRole = (config: TagConfig, description: string, policies: { PolicyName: string; PolicyDocument: unknown }[]): IAM.Role =>
  new IAM.Role({
    Description: description,
    AssumeRolePolicyDocument: policyDocument({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }),
    Policies: policies as IAM.Role['Properties']['Policies'],
    Tags: tags(config),
  });

/** What differs between the bundle's functions. */
export interface BundledFunctionSpec {
  /** `tapstack-<env>-<name>`. */
  name: string;
  description: string;
  /** `index.<export>` of the bundle (handlers/processor/index.ts). */
  handler: string;
  role: LogicalIdName;
  logGroup: LogicalIdName;
  memorySize: unknown;
  timeout: number;
  reservedConcurrency: unknown;
  environment: Record<string, unknown>;
}

/** A function of the processor bundle (nodejs24.x, arm64, the packaged zip), JSON logs to its own group. */
export const bundledFunction = (config: TagConfig, spec: BundledFunctionSpec): Lambda.Function =>
  new Lambda.Function({
    FunctionName: physicalName(spec.name),
    Description: spec.description,
    Runtime: 'nodejs24.x',
    Architectures: ['arm64'],
    Handler: spec.handler,
    Code: { S3Bucket: param(Param.LambdaCodeS3Bucket), S3Key: param(Param.LambdaCodeS3Key) },
    Role: arnOf(spec.role),
    MemorySize: spec.memorySize as number,
    Timeout: spec.timeout,
    ReservedConcurrentExecutions: spec.reservedConcurrency as number,
    LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: ref(spec.logGroup) },
    Environment: { Variables: spec.environment as Record<string, string> },
    Tags: tags(config),
  });

/** A metric of one of the stack's functions (AWS/Lambda, by its name). */
export const functionMetric = (fn: LogicalIdName, name: 'IteratorAge' | 'Duration' | 'Errors' | 'Throttles'): Metric =>
  metric('AWS/Lambda', name, { FunctionName: `\${${fn}}` });

/** A function failed invocations (Lambda's Errors metric above 0). */
export const functionErrorsAlarm = (
  spec: Pick<MetricAlarmSpec, 'id' | 'name' | 'description' | 'runbook' | 'evaluationPeriods' | 'datapointsToAlarm'> & { fn: LogicalIdName },
): MetricAlarmSpec => ({
  id: spec.id,
  name: spec.name,
  description: spec.description,
  runbook: spec.runbook,
  ...alarmMetric(functionMetric(spec.fn, 'Errors')),
  threshold: 0,
  ...(spec.evaluationPeriods === undefined ? {} : { evaluationPeriods: spec.evaluationPeriods }),
  ...(spec.datapointsToAlarm === undefined ? {} : { datapointsToAlarm: spec.datapointsToAlarm }),
});
