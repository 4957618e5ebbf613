/**
 * The processor's outputs, declared once (contract/outputs.ts): everything derived from a
 * declaration follows it. Each binding's resource is in the template (created by the output's own
 * declaration when it says `creates`: encrypted, with its TLS-only policy and its stack output), in
 * the processor's environment and in its role's grants; each output's cost is on a line of the plan
 * and its row in docs/deploy.md. A declaration of a new kind of output (a topic, below) goes through
 * the same builders, so a new output cannot miss one of these without failing here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ownTopic,
  OWN_RESOURCE_IDS,
  PROCESSOR_OUTPUTS,
  PROCESSOR_RESOURCES,
  type OutputBinding,
  type OutputDeclaration,
} from '../../contract';
import { DEPLOY_PATH, deployWithProcessorOutputs, processorOutputsMarkdown } from '../../scripts/docs';
import { OUTPUT_COSTS, plan, PLAN_DEFAULTS } from '../../template/capacity';
import { DEFAULTS } from '../../template/config';
import { functionEnvironment, functionStatements } from '../../template/functions';
import { buildTemplate, type TemplateDocument } from '../../template/index';
import { LogicalId } from '../../template/names';
import { outputResources } from '../../template/output-resources';

type Statement = { Sid: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, string>> };

const template = buildTemplate();
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const mentions = (node: unknown, id: string) => JSON.stringify(node).includes(`"${id}"`) || JSON.stringify(node).includes(`\${${id}}`);
const KIND_TYPES = { queue: ['AWS::SQS::Queue', 'AWS::SQS::QueuePolicy'], topic: ['AWS::SNS::Topic', 'AWS::SNS::TopicPolicy'] } as const;

const bindingsOf = (output: OutputDeclaration) => Object.entries(output.bindings) as [string, OutputBinding][];
const everyBinding = Object.entries(PROCESSOR_OUTPUTS).flatMap(([name, output]) => bindingsOf(output).map(([key, b]) => [name, key, b] as const));

/** What the template does with one binding of the processor, checked against the binding. */
function checkBinding(doc: TemplateDocument | { Resources: Record<string, { Type: string; Properties: any }>; Outputs: Record<string, any> }, env: Record<string, unknown>, statements: Statement[], b: OutputBinding) {
  expect(doc.Resources[b.resource], `${b.resource} is in the template`).toBeDefined();
  expect(env[b.env], `${b.env} is set from ${b.resource}`).toEqual(b.value === 'Ref' ? { Ref: b.resource } : { 'Fn::GetAtt': [b.resource, b.value] });
  for (const grant of b.grants) {
    const statement = statements.find((s) => s.Sid === grant.sid);
    expect(statement, `statement ${grant.sid}`).toBeDefined();
    expect(asList(statement!.Action)).toEqual(expect.arrayContaining([...grant.actions]));
    expect(mentions(statement!.Resource, b.resource), `${grant.sid} is on ${b.resource}`).toBe(true);
  }
  if (!b.creates) return;
  const [type, policyType] = KIND_TYPES[b.creates.kind];
  const resource = doc.Resources[b.resource]!;
  expect(resource.Type).toBe(type);
  expect(resource.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': ['EncryptionKey', 'Arn'] });
  const policy = doc.Resources[`${b.resource}Policy`]!;
  expect(policy.Type).toBe(policyType);
  expect(mentions(policy.Properties, b.resource)).toBe(true);
  const tlsDeny = (policy.Properties.PolicyDocument.Statement as Statement[]).find(
    (s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
  );
  expect(tlsDeny, `${b.resource}Policy denies requests without TLS`).toBeDefined();
  const stackOutput = doc.Outputs[b.creates.stackOutput.key];
  expect(stackOutput).toMatchObject({ Description: b.creates.stackOutput.description, Value: { Ref: b.resource } });
}

describe('the processor outputs (contract/outputs.ts)', () => {
  const resources = template.Resources;
  const env = resources.ProcessorFunction!.Properties.Environment.Variables as Record<string, unknown>;
  const statements = (resources.ProcessorRole!.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => p.PolicyDocument.Statement);

  it.each(everyBinding.map(([name, key, b]) => [name, key, b] as const))(
    '%s: %s is in the template (made by its declaration if it creates it), the environment and the role',
    (_, __, b) => checkBinding(template, env, statements, b),
  );

  it('creates the quarantine queue through its declaration (the mechanism is in use)', () => {
    expect(PROCESSOR_OUTPUTS.quarantine.bindings.quarantineQueueUrl.creates.kind).toBe('queue');
    expect(Object.keys(outputResources(DEFAULTS).resources).slice(0, 2)).toEqual(['QuarantineQueue', 'QuarantineQueuePolicy']);
  });

  it('declares each binding once, and an output uses only bindings declared by earlier outputs', () => {
    const keys = everyBinding.map(([, key]) => key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(Object.keys(PROCESSOR_RESOURCES)).toEqual(keys);
    const declared = new Set<string>();
    for (const output of Object.values(PROCESSOR_OUTPUTS) as OutputDeclaration[]) {
      for (const key of output.uses ?? []) expect(declared, key).toContain(key);
      for (const key of Object.keys(output.bindings)) declared.add(key);
    }
  });

  it('puts every created resource and its policy in the logical-ID registry (template/names.ts), taken from the declarations', () => {
    const created = everyBinding.filter(([, , b]) => b.creates).flatMap(([, , b]) => [b.resource, `${b.resource}Policy`]);
    expect(OWN_RESOURCE_IDS).toEqual(created);
    for (const id of created) expect(LogicalId).toHaveProperty(id, id);
  });

  it("places every output's charges on a cost line of the plan's defaults, or says why it has none", () => {
    const services = plan({ ...PLAN_DEFAULTS, sensors: 50_000, hz: 1 }).costs.map((c) => c.service);
    expect(Object.keys(OUTPUT_COSTS)).toEqual(Object.keys(PROCESSOR_OUTPUTS));
    for (const [name, cost] of Object.entries(OUTPUT_COSTS)) {
      expect(cost).toBe(PROCESSOR_OUTPUTS[name as keyof typeof PROCESSOR_OUTPUTS].cost);
      if ('none' in cost) expect(cost.none.length, name).toBeGreaterThan(10);
      else expect(services.filter((s) => s.startsWith(cost.line)), `${name}: a cost line "${cost.line}…" in ${services.join(', ')}`).toHaveLength(1);
    }
  });

  it('lists every output in docs/deploy.md (regenerated by npm run docs), with its resources and the stack outputs naming them', () => {
    const deploy = readFileSync(DEPLOY_PATH, 'utf8');
    expect(deployWithProcessorOutputs(deploy)).toBe(deploy);
    for (const [name, output] of Object.entries(PROCESSOR_OUTPUTS) as [string, OutputDeclaration][]) {
      const row = deploy.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      expect(row).toContain(output.description);
      for (const [, b] of bindingsOf(output)) {
        expect(row).toContain(`\`${b.resource}\` (\`${b.env}\`)`);
        if (b.creates) expect(row).toContain(`\`${b.creates.stackOutput.key}\``);
      }
    }
  });
});

describe('a new output declared with a topic of its own (not in the stack: the builders take the declarations)', () => {
  const zoneSummary = {
    description: 'one message per zone per batch, with its counts',
    bindings: {
      zoneSummaryTopicArn: ownTopic({
        env: 'ZONE_SUMMARY_TOPIC_ARN',
        resource: 'ZoneSummaryTopic',
        grants: [{ sid: 'PublishZoneSummaries', actions: ['sns:Publish'] }],
        topic: { name: 'zone-summary', displayName: 'TapStack zone summaries', stackOutput: { key: 'ZoneSummaryTopicArn', description: 'Zone summaries' } },
      }),
    },
    cost: { line: 'EventBridge + SNS' },
  } satisfies OutputDeclaration;
  const outputs = { ...PROCESSOR_OUTPUTS, zoneSummary };
  const bindings = Object.assign({}, ...Object.values(outputs).map((o) => o.bindings)) as Record<string, OutputBinding>;
  const built = outputResources(DEFAULTS, outputs);
  const doc = JSON.parse(JSON.stringify({ Resources: { ...template.Resources, ...built.resources }, Outputs: { ...template.Outputs, ...built.outputs } }));
  const env = JSON.parse(JSON.stringify(functionEnvironment(DEFAULTS, bindings, {})));
  const statements = JSON.parse(JSON.stringify(functionStatements(bindings, LogicalId.ProcessorLogGroup))) as Statement[];

  it('is created encrypted with its TLS-only policy and stack output, set in the environment and granted sns:Publish on its ARN', () => {
    expect(Object.keys(built.resources).slice(-2)).toEqual(['ZoneSummaryTopic', 'ZoneSummaryTopicPolicy']);
    checkBinding(doc, env, statements, zoneSummary.bindings.zoneSummaryTopicArn);
    expect(statements.find((s) => s.Sid === 'PublishZoneSummaries')!.Resource).toEqual({ Ref: 'ZoneSummaryTopic' });
  });

  it('gets its row in the deploy guide', () => {
    const row = processorOutputsMarkdown({ ...template, Outputs: doc.Outputs }, outputs).split('\n').find((l) => l.startsWith('| `zoneSummary` |'));
    expect(row).toBe(
      '| `zoneSummary` | one message per zone per batch, with its counts | `ZoneSummaryTopic` (`ZONE_SUMMARY_TOPIC_ARN`) | `ZoneSummaryTopicArn` | EventBridge + SNS |',
    );
  });
});
