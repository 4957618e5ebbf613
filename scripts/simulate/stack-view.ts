/**
 * The simulator's one view of the stack: everything it emulates (the IoT policy, the topic rule,
 * the event source mapping, the alert rule) read from the template the builders make, with the
 * parameter values of the local deployment, and the physical names moto gave the resources.
 * Nothing here is a copy of a name or a setting: change the template and the simulator follows.
 */
import { buildTemplate } from '../../template/index';
import { LogicalId } from '../../template/names';
import { resolveTemplate } from '../lib/cfn-eval';

/** Logical ID → physical ID (what `Ref` gives). */
export type PhysicalIds = Record<string, string>;

export class StackViewError extends Error {
  override name = 'StackViewError';
}

/** Pseudo parameters of a local deployment (moto's defaults). */
export const LOCAL_PSEUDO = {
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
} as const;

/** Fn::Sub of a string with parameter and pseudo-parameter values; `${!x}` stays the literal `${x}`. */
export function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(!?)([^}]+)\}/g, (whole, bang: string, name: string) => {
    if (bang) return `\${${name}}`;
    const value = values[name];
    if (value === undefined) throw new StackViewError(`Fn::Sub variable \${${name}} has no local value (in "${text}")`);
    return value;
  });
}

const subOf = (node: unknown, values: Record<string, string>): string => {
  if (typeof node === 'string') return node;
  const o = node as { 'Fn::Sub'?: unknown };
  if (o && typeof o['Fn::Sub'] === 'string') return substitute(o['Fn::Sub'], values);
  throw new StackViewError(`expected a string or Fn::Sub, got ${JSON.stringify(node)}`);
};

/** The event source mapping's settings, as the template sets them. */
export interface EsmSettings {
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  parallelizationFactor: number;
  bisectBatchOnFunctionError: boolean;
  maximumRetryAttempts: number;
  /** -1: no limit. */
  maximumRecordAgeSeconds: number;
  reportBatchItemFailures: boolean;
  startingPosition: string;
  /** Logical ID of the on-failure destination (an SQS queue). */
  onFailureResource: string;
}

/** The topic rule, as the template sets it. */
export interface TopicRuleView {
  ruleName: string;
  sql: string;
  /** Substitution template of the Kinesis action's partition key, e.g. `${topic(4)}`. */
  partitionKey: string;
  /** Logical ID of the error action's log group. */
  errorLogGroupResource: string;
}

/** One statement of the IoT policy: its actions, its resources (ARNs with the thing variable), its condition with values resolved. */
export interface PolicyStatementView {
  actions: string[];
  resources: string[];
  condition?: Record<string, Record<string, string | string[]>>;
}

/** The IoT policy (who may connect, where a thing may publish), and the registry objects of the environment's sensors. */
export interface PolicyView {
  statements: PolicyStatementView[];
  /** The thing group `npm run deploy` attaches the policy to: it applies to that group's things only. */
  sensorGroup: string;
  /** The environment's sensor thing type, and the attributes it propagates to messages (user property key → attribute). */
  thingTypeName: string;
  propagatingAttributes: Record<string, string>;
}

export interface AlertRuleView {
  ruleName: string;
  eventPattern: Record<string, unknown>;
  /** The SNS target's input transformer: what an operator receives. */
  inputPathsMap: Record<string, string>;
  inputTemplate: string;
}

export interface StackView {
  parameters: Record<string, string>;
  esm: EsmSettings;
  rule: TopicRuleView;
  policy: PolicyView;
  alertRule: AlertRuleView;
  /** The health detector's schedule expression (EventBridge Scheduler), e.g. rate(1 minute). */
  detectorSchedule: string;
  /** The name of the rule that delivers sensor-health events to the ops topic. */
  healthRuleName: string;
}

/** The IoT policy variable a policy's resources name the connecting thing by. */
export const THING_VARIABLE = '${iot:Connection.Thing.ThingName}';

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/** The stack's settings for these parameter values (the template's defaults for the rest). */
export function stackView(parameters: Record<string, string>): StackView {
  const { params, resources } = resolveTemplate(buildTemplate(), parameters);
  const values: Record<string, string> = { ...LOCAL_PSEUDO, ...params };
  const resource = (id: string) => {
    const r = resources[id];
    if (!r) throw new StackViewError(`the template has no resource ${id} for these parameters`);
    return r.Properties as Record<string, any>;
  };

  const esm = resource(LogicalId.ProcessorEventSourceMapping);
  const destination = esm.DestinationConfig?.OnFailure?.Destination as { 'Fn::GetAtt'?: [string, string] } | undefined;
  const rule = resource(LogicalId.SensorTopicRule).TopicRulePayload;
  const kinesisAction = (rule.Actions as Record<string, any>[]).find((a) => a.Kinesis)?.Kinesis;
  if (!kinesisAction) throw new StackViewError('the topic rule has no Kinesis action');
  const policy = resource(LogicalId.SensorPolicy).PolicyDocument as {
    Statement: { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> }[];
  };
  // A Ref to a resource of the template is its physical name (the name property the template gives it).
  const named = (node: unknown): string => {
    const refTo = (node as { Ref?: string })?.Ref;
    if (refTo === LogicalId.SensorThingType) return subOf(resource(LogicalId.SensorThingType).ThingTypeName, values);
    return subOf(node, values);
  };
  if (policy.Statement.some((s) => s.Effect !== 'Allow')) throw new StackViewError('the simulator evaluates Allow statements only');
  const statements: PolicyStatementView[] = policy.Statement.map((s) => ({
    actions: asArray(s.Action) as string[],
    resources: asArray(s.Resource).map((r) => subOf(r, values)),
    ...(s.Condition
      ? {
          condition: Object.fromEntries(
            Object.entries(s.Condition).map(([op, keys]) => [
              op,
              Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, Array.isArray(v) ? v.map(named) : named(v)])),
            ]),
          ),
        }
      : {}),
  }));
  const alertRule = resource(LogicalId.CongestionAlertRule);
  const transformer = (alertRule.Targets as Record<string, any>[])[0]?.InputTransformer ?? { InputPathsMap: {}, InputTemplate: '<aws.events.event>' };

  return {
    parameters: params,
    esm: {
      batchSize: Number(esm.BatchSize),
      maximumBatchingWindowSeconds: Number(esm.MaximumBatchingWindowInSeconds ?? 0),
      parallelizationFactor: Number(esm.ParallelizationFactor ?? 1),
      bisectBatchOnFunctionError: esm.BisectBatchOnFunctionError === true || esm.BisectBatchOnFunctionError === 'true',
      maximumRetryAttempts: Number(esm.MaximumRetryAttempts ?? -1),
      maximumRecordAgeSeconds: Number(esm.MaximumRecordAgeInSeconds ?? -1),
      reportBatchItemFailures: asArray(esm.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
      startingPosition: String(esm.StartingPosition),
      onFailureResource: destination?.['Fn::GetAtt']?.[0] ?? '',
    },
    rule: {
      ruleName: subOf(rule.RuleName ?? resource(LogicalId.SensorTopicRule).RuleName, values),
      sql: subOf(rule.Sql, values),
      partitionKey: String(kinesisAction.PartitionKey),
      errorLogGroupResource: (rule.ErrorAction?.CloudwatchLogs?.LogGroupName as { Ref: string }).Ref,
    },
    policy: {
      statements,
      sensorGroup: subOf(resource(LogicalId.SensorThingGroup).ThingGroupName, values),
      thingTypeName: subOf(resource(LogicalId.SensorThingType).ThingTypeName, values),
      propagatingAttributes: Object.fromEntries(
        (resource(LogicalId.SensorThingType).ThingTypeProperties?.Mqtt5Configuration?.PropagatingAttributes ?? []).map(
          (a: { UserPropertyKey: string; ThingAttribute: string }) => [a.UserPropertyKey, a.ThingAttribute],
        ),
      ),
    },
    alertRule: {
      ruleName: subOf(alertRule.Name, values),
      eventPattern: alertRule.EventPattern,
      inputPathsMap: transformer.InputPathsMap,
      inputTemplate: transformer.InputTemplate,
    },
    detectorSchedule: String(resource(LogicalId.HealthDetectorSchedule).ScheduleExpression),
    healthRuleName: subOf(resource(LogicalId.SensorHealthRule).Name, values),
  };
}
