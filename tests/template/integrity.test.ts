import { describe, expect, it } from 'vitest';
import { LogicalId } from '../../template/names';
import { committedTemplate, subVariables, walk } from '../helpers/template';

const template = committedTemplate();
const resources = new Set(Object.keys(template.Resources));
const parameters = new Set(Object.keys(template.Parameters));
const conditions = new Set(Object.keys(template.Conditions));
const isPseudo = (name: string) => name.startsWith('AWS::');

/** Every Ref/GetAtt/Sub target of a subtree, as [kind, target, where]. */
function references(root: unknown, where: string): [string, string, string][] {
  const found: [string, string, string][] = [];
  for (const [node, path] of walk(root)) {
    if (!node || typeof node !== 'object' || Array.isArray(node)) continue;
    const o = node as Record<string, unknown>;
    const at = `${where}.${path.join('.')}`;
    if (typeof o.Ref === 'string') found.push(['Ref', o.Ref, at]);
    if (Array.isArray(o['Fn::GetAtt'])) found.push(['GetAtt', String(o['Fn::GetAtt'][0]), at]);
    if ('Fn::Sub' in o) {
      const [text, vars] = Array.isArray(o['Fn::Sub']) ? (o['Fn::Sub'] as [string, Record<string, unknown>]) : [o['Fn::Sub'] as string, {}];
      for (const v of subVariables(text)) {
        const name = v.split('.')[0]!;
        if (!(name in vars)) found.push(['Sub', name, at]);
      }
    }
  }
  return found;
}

describe('template integrity', () => {
  const all = [
    ...references(template.Resources, 'Resources'),
    ...references(template.Outputs, 'Outputs'),
    ...references(template.Rules, 'Rules'),
    ...references(template.Conditions, 'Conditions'),
  ];

  it('resolves every Ref, GetAtt and Sub variable to a resource, parameter or pseudo parameter', () => {
    const dangling = all.filter(([kind, target]) => {
      if (isPseudo(target)) return false;
      if (kind === 'GetAtt') return !resources.has(target);
      return !resources.has(target) && !parameters.has(target);
    });
    expect(dangling).toEqual([]);
  });

  it('uses every parameter', () => {
    const used = new Set(all.map(([, target]) => target));
    expect([...parameters].filter((p) => !used.has(p))).toEqual([]);
  });

  it('names only existing resources in DependsOn and only defined conditions', () => {
    const problems: string[] = [];
    for (const [id, r] of Object.entries(template.Resources)) {
      const deps = r.DependsOn === undefined ? [] : ([] as unknown[]).concat(r.DependsOn);
      for (const d of deps) if (!resources.has(String(d))) problems.push(`${id} DependsOn ${String(d)}`);
      if (r.Condition !== undefined && !conditions.has(String(r.Condition))) problems.push(`${id} Condition ${String(r.Condition)}`);
    }
    for (const [id, o] of Object.entries(template.Outputs) as [string, { Condition?: string }][]) {
      if (o.Condition !== undefined && !conditions.has(o.Condition)) problems.push(`Output ${id} Condition ${o.Condition}`);
    }
    for (const [node, path] of walk(template)) {
      if (node && typeof node === 'object' && 'Fn::If' in node) {
        const name = String((node as { 'Fn::If': unknown[] })['Fn::If'][0]);
        if (!conditions.has(name)) problems.push(`${path.join('.')} Fn::If ${name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('uses every condition', () => {
    const text = JSON.stringify({ r: template.Resources, o: template.Outputs });
    const unused = [...conditions].filter((c) => !text.includes(`"${c}"`));
    expect(unused).toEqual([]);
  });

  it('takes every logical ID from the registry, and every registry entry is a resource', () => {
    expect([...resources].sort()).toEqual(Object.keys(LogicalId).sort());
  });

  it('tags every resource that takes tags with Project and Environment', () => {
    const untaggable = new Set([
      'AWS::KMS::Alias',
      'AWS::Logs::MetricFilter',
      'AWS::Logs::LogStream',
      'AWS::SQS::QueuePolicy',
      'AWS::SNS::TopicPolicy',
      'AWS::SNS::Subscription',
      'AWS::S3::BucketPolicy',
      'AWS::Events::Archive',
      'AWS::Glue::Database',
      'AWS::Glue::Table',
      'AWS::ApplicationAutoScaling::ScalableTarget',
      'AWS::ApplicationAutoScaling::ScalingPolicy',
      'AWS::CloudWatch::Dashboard',
      // None has a Tags property (CloudFormation resource reference).
      'AWS::Lambda::EventInvokeConfig',
      'AWS::Lambda::Permission',
      'AWS::CloudFront::OriginAccessControl',
      'AWS::CloudFront::Function',
      'AWS::CloudFront::ResponseHeadersPolicy',
      'AWS::Cognito::UserPoolClient',
      'AWS::Cognito::UserPoolDomain',
      'AWS::Cognito::UserPoolGroup',
      'AWS::Cognito::UserPoolResourceServer',
      'AWS::ApiGatewayV2::Authorizer',
      'AWS::ApiGatewayV2::Integration',
      'AWS::ApiGatewayV2::Route',
      'AWS::Scheduler::Schedule',
      'AWS::Events::EventBusPolicy',
      'AWS::Kinesis::ResourcePolicy',
      'AWS::IAM::ManagedPolicy',
      // moto 5.2 fails CreateStack on KMS key tags; stack-level tags (npm run deploy) cover it.
      'AWS::KMS::Key',
    ]);
    const missing = Object.entries(template.Resources)
      .filter(([, r]) => !untaggable.has(r.Type))
      .filter(([, r]) => {
        // Most types take a list of {Key, Value}; API Gateway v2 and Cognito user pools take a map.
        const p = r.Properties as { Tags?: { Key: string }[] | Record<string, unknown>; UserPoolTags?: Record<string, unknown> };
        const given = p.Tags ?? p.UserPoolTags ?? [];
        const keys = Array.isArray(given) ? given.map((t) => t.Key) : Object.keys(given);
        return !['Project', 'Environment'].every((k) => keys.includes(k));
      })
      .map(([id]) => id);
    expect(missing).toEqual([]);
  });
});
