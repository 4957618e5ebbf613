/**
 * A small evaluator of CloudFormation Conditions, Fn::If, Ref-to-parameter and Rules, so that
 * builder tests can ask "what does the stack look like with these parameter values?".
 * It resolves only what the template's conditional logic uses; everything else is left as is.
 */
import type { TemplateDocument } from '../../template/index';

type Params = Record<string, string>;
type Json = unknown;

export function parameterValues(template: TemplateDocument, overrides: Params): Params {
  const values: Params = {};
  for (const [name, p] of Object.entries(template.Parameters) as [string, { Default?: unknown }][]) {
    if (p.Default !== undefined) values[name] = String(p.Default);
  }
  return { ...values, ...overrides };
}

function value(node: Json, params: Params, conditions: Record<string, boolean>): Json {
  if (node && typeof node === 'object' && !Array.isArray(node)) {
    const o = node as Record<string, Json>;
    if ('Ref' in o && typeof o.Ref === 'string' && o.Ref in params) return params[o.Ref];
    if ('Fn::Equals' in o) {
      const [a, b] = o['Fn::Equals'] as Json[];
      return String(value(a, params, conditions)) === String(value(b, params, conditions));
    }
    if ('Fn::Not' in o) return !value((o['Fn::Not'] as Json[])[0], params, conditions);
    if ('Fn::And' in o) return (o['Fn::And'] as Json[]).every((c) => value(c, params, conditions));
    if ('Fn::Or' in o) return (o['Fn::Or'] as Json[]).some((c) => value(c, params, conditions));
    if ('Fn::Contains' in o) {
      const [list, item] = o['Fn::Contains'] as [Json[], Json];
      return list.map(String).includes(String(value(item, params, conditions)));
    }
    if ('Condition' in o && Object.keys(o).length === 1) return conditions[o.Condition as string];
    if ('Fn::If' in o) {
      const [name, whenTrue, whenFalse] = o['Fn::If'] as [string, Json, Json];
      if (!(name in conditions)) throw new Error(`Fn::If names unknown condition ${name}`);
      return value(conditions[name] ? whenTrue : whenFalse, params, conditions);
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(o)) {
      const resolved = value(v, params, conditions);
      if (!isNoValue(resolved)) out[k] = resolved;
    }
    return out;
  }
  if (Array.isArray(node)) return node.map((n) => value(n, params, conditions)).filter((n) => !isNoValue(n));
  return node;
}
const isNoValue = (n: Json) => !!n && typeof n === 'object' && (n as { Ref?: string }).Ref === 'AWS::NoValue';

export function evaluateConditions(template: TemplateDocument, params: Params): Record<string, boolean> {
  const conditions: Record<string, boolean> = {};
  for (const [name, expr] of Object.entries(template.Conditions)) {
    conditions[name] = Boolean(value(expr, params, conditions));
  }
  return conditions;
}

/** The resources and outputs that exist for these parameter values, with Fn::If and Refs resolved. */
export function resolveTemplate(template: TemplateDocument, overrides: Params = {}) {
  const params = parameterValues(template, overrides);
  const conditions = evaluateConditions(template, params);
  const keep = (r: { Condition?: unknown }) => r.Condition === undefined || conditions[r.Condition as string];
  const resources = Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, r]) => keep(r as { Condition?: unknown }))
      .map(([id, r]) => [id, value(r, params, conditions) as Record<string, any>]),
  );
  const outputs = Object.fromEntries(
    Object.entries(template.Outputs).filter(([, o]) => keep(o as { Condition?: unknown })),
  );
  return { params, conditions, resources, outputs };
}

/** The assertion descriptions of every Rule that fails for these parameter values. */
export function failingRules(template: TemplateDocument, overrides: Params): string[] {
  const params = parameterValues(template, overrides);
  const failures: string[] = [];
  for (const rule of Object.values(template.Rules) as { RuleCondition?: Json; Assertions: { Assert: Json; AssertDescription: string }[] }[]) {
    if (rule.RuleCondition !== undefined && !value(rule.RuleCondition, params, {})) continue;
    for (const a of rule.Assertions) if (!value(a.Assert, params, {})) failures.push(a.AssertDescription);
  }
  return failures;
}
