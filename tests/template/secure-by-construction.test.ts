/**
 * Every topic and queue is made by a helper in template/defaults.ts that returns it with its TLS-only
 * policy, and every service allowed to publish or send is pinned to its source (publishOnlyFrom).
 * These tests read the template the builders generate now (not the committed file), so a helper
 * that forgets the TLS deny, or a layer that lists a topic without its policy, fails here before
 * anyone regenerates the golden template.
 */
import { describe, expect, it } from 'vitest';
import { encryptedQueue, encryptedTopic } from '../../template/defaults';
import type { PolicyStatement } from '../../template/iam';
import { publishOnlyFrom } from '../../template/iam';
import { buildTemplate, type TemplateDocument } from '../../template/index';
import { LogicalId } from '../../template/names';
import { resourcesOfType } from '../helpers/template';

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/** What a TLS-only deny must cover for each kind of resource, and how its policy names it. */
const KINDS = [
  { type: 'AWS::SNS::Topic', policyType: 'AWS::SNS::TopicPolicy', listKey: 'Topics', actions: ['sns:Publish', 'sns:*'], self: (id: string) => ({ Ref: id }) },
  { type: 'AWS::SQS::Queue', policyType: 'AWS::SQS::QueuePolicy', listKey: 'Queues', actions: ['sqs:*'], self: (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] }) },
] as const;

/** True when the statement denies `actions` on `self` to everyone, for requests without TLS. */
function isTlsDeny(s: PolicyStatement, actions: readonly string[], self: unknown): boolean {
  return (
    s.Effect === 'Deny' &&
    s.Principal === '*' &&
    (s.Condition?.Bool as Record<string, unknown> | undefined)?.['aws:SecureTransport'] === 'false' &&
    asList(s.Action).some((a) => actions.includes(a as string)) &&
    asList(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(self))
  );
}

/** Ids of the kind's resources that no attached policy protects with a TLS-only deny. */
function unprotected(template: TemplateDocument, kind: (typeof KINDS)[number]): string[] {
  const policies = resourcesOfType(template, kind.policyType).map(([, r]) => r.Properties);
  return resourcesOfType(template, kind.type)
    .map(([id]) => id)
    .filter(
      (id) =>
        !policies.some(
          (p) =>
            asList(p[kind.listKey]).some((t) => (t as { Ref?: string }).Ref === id) &&
            (p.PolicyDocument.Statement as PolicyStatement[]).some((s) => isTlsDeny(s, kind.actions, kind.self(id))),
        ),
    );
}

describe('every topic and queue is TLS-only by construction', () => {
  const template = json(buildTemplate()) as TemplateDocument;
  it.each(KINDS.map((k) => [k.type, k] as const))('every %s of the generated template has a TLS-only deny in a policy attached to it', (_type, kind) => {
    expect(resourcesOfType(template, kind.type).length).toBeGreaterThan(0);
    expect(unprotected(template, kind)).toEqual([]);
  });

  it('catches a topic or queue whose policy lost its TLS deny, or that has no policy', () => {
    const template = json(buildTemplate()) as TemplateDocument;
    const topicPolicy = template.Resources.OpsTopicPolicy!.Properties.PolicyDocument;
    topicPolicy.Statement = (topicPolicy.Statement as PolicyStatement[]).filter((s) => s.Sid !== 'DenyInsecureTransport');
    delete template.Resources.QuarantineQueuePolicy;
    expect(unprotected(template, KINDS[0])).toEqual(['OpsTopic']);
    expect(unprotected(template, KINDS[1])).toEqual(['QuarantineQueue']);
  });

  it('ends each helper-made policy with the TLS deny, after the publishers and extra statements', () => {
    const config = { project: 'TapStack', queueRetentionSeconds: 60 };
    const publisher = publishOnlyFrom('events.amazonaws.com', 'arn:rule', { sid: 'RulePublishes' });
    const extra: PolicyStatement = { Sid: 'Extra', Effect: 'Deny', Principal: '*', Action: 'sns:Publish' };
    const topic = json(encryptedTopic(config, 'x', 'X', LogicalId.OpsTopic, { publishers: [publisher], statements: [extra] }).policy) as any;
    expect(topic.Properties.PolicyDocument.Statement.map((s: PolicyStatement) => s.Sid)).toEqual(['RulePublishes', 'Extra', 'DenyInsecureTransport']);
    const queue = encryptedQueue(config, 'q', LogicalId.QuarantineQueue, { fifo: true });
    expect(Object.keys(queue.resources)).toEqual(['QuarantineQueue', 'QuarantineQueuePolicy']);
    expect(json(queue.policy.Properties.PolicyDocument)).toMatchObject({ Statement: [{ Sid: 'DenyInsecureTransport', Action: 'sqs:*' }] });
  });
});

describe('publishOnlyFrom: a service publishes to a topic or queue only from its source', () => {
  const template = json(buildTemplate()) as TemplateDocument;
  const serviceAllows = KINDS.flatMap((kind) =>
    resourcesOfType(template, kind.policyType).flatMap(([id, r]) =>
      (r.Properties.PolicyDocument.Statement as PolicyStatement[])
        .filter((s) => s.Effect === 'Allow' && (s.Principal as { Service?: string } | undefined)?.Service)
        .map((s) => [`${id}.${s.Sid}`, s] as const),
    ),
  );

  it('finds the four service publishers of the stack', () => {
    expect(serviceAllows.map(([where]) => where).sort()).toEqual([
      'AlertDeliveryDeadLetterQueuePolicy.AlertRuleDeadLetters',
      'AlertsTopicPolicy.OnlyTheAlertRulePublishes',
      'OpsTopicPolicy.SensorHealthRulePublishes',
      'OpsTopicPolicy.StackAlarmsPublish',
    ]);
  });

  it('names the source ARN of every service publisher, and pins the account when the ARN is a pattern', () => {
    for (const [where, s] of serviceAllows) {
      const c = s.Condition as Record<string, Record<string, unknown>>;
      const source = c.ArnEquals?.['aws:SourceArn'] ?? c.ArnLike?.['aws:SourceArn'];
      expect(source, where).toBeDefined();
      if (c.ArnLike) expect(c.StringEquals?.['aws:SourceAccount'], where).toEqual({ Ref: 'AWS::AccountId' });
    }
  });

  it('builds an exact source with ArnEquals and a pattern with ArnLike plus aws:SourceAccount', () => {
    expect(publishOnlyFrom('events.amazonaws.com', ['a', 'b'], { sid: 'S' })).toEqual({
      Sid: 'S',
      service: 'events.amazonaws.com',
      Condition: { ArnEquals: { 'aws:SourceArn': ['a', 'b'] } },
    });
    expect(json(publishOnlyFrom('cloudwatch.amazonaws.com', 'arn:*', { sid: 'S', like: true }).Condition)).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': 'arn:*' },
    });
  });
});
