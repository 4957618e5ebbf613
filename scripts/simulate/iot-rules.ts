/**
 * IoT Core's decisions, locally and pure: the sensor policy (may this client connect, may this
 * thing publish there) and the topic rule (which topics it takes, the record it makes, its
 * partition key), all read from the template's policy document and rule SQL (stack-view.ts).
 * Only the parts of IoT SQL the template uses are understood; anything else is an error, so a
 * template change the simulator cannot follow fails loudly instead of being emulated wrongly.
 */
import { LOCAL_PSEUDO, THING_VARIABLE, type PolicyStatementView, type PolicyView, type TopicRuleView } from './stack-view';

export class RuleSqlError extends Error {
  override name = 'RuleSqlError';
}

const ARN_PREFIX = `arn:${LOCAL_PSEUDO['AWS::Partition']}:iot:${LOCAL_PSEUDO['AWS::Region']}:${LOCAL_PSEUDO['AWS::AccountId']}:`;

/** An IoT policy resource as a matcher: the thing variable substituted, `*` and `?` as wildcards. */
const resourceMatcher = (resource: string, thing: string): RegExp => {
  const text = resource.split(THING_VARIABLE).join(thing);
  return new RegExp(`^${text.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
};

/**
 * What IoT Core knows of a connection when it evaluates the policy: the thing (named by the client
 * id), whether the certificate presented is attached to it, and the thing's registry entry.
 */
export interface ConnectionContext {
  thing: string;
  isAttached: boolean;
  thingTypeName?: string;
  attributes?: Record<string, string>;
}

/** The value of a thing policy variable for a connection (https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-variables.html). */
function variable(key: string, c: ConnectionContext): string | undefined {
  if (key === 'iot:Connection.Thing.IsAttached') return String(c.isAttached);
  if (key === 'iot:Connection.Thing.ThingName') return c.thing;
  if (key === 'iot:Connection.Thing.ThingTypeName') return c.thingTypeName;
  const attribute = /^iot:Connection\.Thing\.Attributes\[(.+)\]$/.exec(key);
  if (attribute) return c.attributes?.[attribute[1]!];
  throw new RuleSqlError(`the simulator cannot evaluate the policy condition key ${key}`);
}

/** A statement's Condition block: every operator's every key must hold (Bool and StringEquals, as the template uses). */
function conditionHolds(condition: PolicyStatementView['condition'], c: ConnectionContext): boolean {
  return Object.entries(condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => {
      const actual = variable(key, c);
      const allowed = (Array.isArray(expected) ? expected : [expected]).map(String);
      if (operator === 'Bool' || operator === 'StringEquals') return actual !== undefined && allowed.includes(actual);
      throw new RuleSqlError(`the simulator cannot evaluate the policy condition operator ${operator}`);
    }),
  );
}

/** Whether some statement of the policy allows `action` on `resourceArn` for this connection. */
function allows(policy: PolicyView, action: string, resourceArn: string, c: ConnectionContext): boolean {
  return policy.statements.some(
    (s) => s.actions.includes(action) && s.resources.some((r) => resourceMatcher(r, c.thing).test(resourceArn)) && conditionHolds(s.condition, c),
  );
}

/** The policy's iot:Connect decision: the client id is the thing; the conditions read its registry entry. */
export function mayConnect(policy: PolicyView, connection: ConnectionContext, clientId: string): boolean {
  return allows(policy, 'iot:Connect', `${ARN_PREFIX}client/${clientId}`, connection);
}

/** The policy's iot:Publish decision for a connection and a topic. */
export function mayPublish(policy: PolicyView, connection: ConnectionContext, topic: string): boolean {
  return allows(policy, 'iot:Publish', `${ARN_PREFIX}topic/${topic}`, connection);
}

/** MQTT topic filter matching (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

type Projection =
  | { kind: 'all' }
  | { kind: 'timestamp'; as: string }
  | { kind: 'topic'; level: number; as: string }
  /** `encode(*, 'base64') AS x`: the payload as published, whatever its format. */
  | { kind: 'payloadBase64'; as: string }
  /** `get_user_properties('<key>') AS x`: every value of a user property (the thing type's propagated one, and any the device added). */
  | { kind: 'userProperties'; key: string; as: string };

/** The SELECT list split at its top-level commas (a function's arguments keep theirs). */
function selectItems(list: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const c of list) {
    if (c === "'") quoted = !quoted;
    if (!quoted && c === '(') depth++;
    if (!quoted && c === ')') depth--;
    if (!quoted && depth === 0 && c === ',') {
      items.push(current);
      current = '';
    } else current += c;
  }
  return [...items, current];
}

export interface CompiledRule {
  ruleName: string;
  from: string;
  projections: Projection[];
  /** The Basic Ingest prefix of the rule, stripped before the rule sees the topic. */
  basicIngestPrefix: string;
  partitionKey: (topic: string) => string;
}

/** `topic(n)`: the n-th level (1-based) of the topic, as IoT SQL defines it. */
const topicLevel = (topic: string, level: number): string => topic.split('/')[level - 1] ?? '';

/** Compiles the rule's SQL (`SELECT encode(*, 'base64') AS a, timestamp() AS b, get_user_properties('k') AS c FROM 'filter'`, or `*` and aliases) and partition key. */
export function compileRule(rule: TopicRuleView): CompiledRule {
  const match = /^SELECT\s+(.+?)\s+FROM\s+'([^']+)'\s*$/i.exec(rule.sql);
  if (!match) throw new RuleSqlError(`the simulator cannot read the rule SQL "${rule.sql}" (expected SELECT … FROM '<filter>', no WHERE)`);
  const projections = selectItems(match[1]!).map((part): Projection => {
    const p = part.trim();
    if (p === '*') return { kind: 'all' };
    const ts = /^timestamp\(\)\s+AS\s+(\w+)$/i.exec(p);
    if (ts) return { kind: 'timestamp', as: ts[1]! };
    const topic = /^topic\((\d+)\)\s+AS\s+(\w+)$/i.exec(p);
    if (topic) return { kind: 'topic', level: Number(topic[1]), as: topic[2]! };
    const encoded = /^encode\(\s*\*\s*,\s*'base64'\s*\)\s+AS\s+(\w+)$/i.exec(p);
    if (encoded) return { kind: 'payloadBase64', as: encoded[1]! };
    const properties = /^get_user_properties\(\s*'([^']+)'\s*\)\s+AS\s+(\w+)$/i.exec(p);
    if (properties) return { kind: 'userProperties', key: properties[1]!, as: properties[2]! };
    throw new RuleSqlError(`the simulator cannot evaluate "${p}" of the rule SQL`);
  });
  const keyParts = rule.partitionKey.split(/(\$\{topic\(\d+\)\})/).filter((s) => s !== '');
  const partitionKey = (topic: string) =>
    keyParts.map((part) => {
      const m = /^\$\{topic\((\d+)\)\}$/.exec(part);
      if (m) return topicLevel(topic, Number(m[1]));
      if (part.includes('${')) throw new RuleSqlError(`the simulator cannot evaluate the partition key "${rule.partitionKey}"`);
      return part;
    }).join('');
  return { ruleName: rule.ruleName, from: match[2]!, projections, basicIngestPrefix: `$aws/rules/${rule.ruleName}/`, partitionKey };
}

/** The topic the rule sees: a Basic Ingest topic without its `$aws/rules/<rule>/` prefix. */
export function ruleTopic(rule: CompiledRule, topic: string): string {
  return topic.startsWith(rule.basicIngestPrefix) ? topic.slice(rule.basicIngestPrefix.length) : topic;
}

/**
 * The record the rule puts on the stream for a message, or undefined when the rule does not take
 * the topic. `SELECT *` alone forwards a payload that is not a JSON object as it came (`*` refers to
 * a binary payload as raw data; AWS documents adding fields only to empty or JSON payloads:
 * https://docs.aws.amazon.com/iot/latest/developerguide/binary-payloads.html); a SELECT of only
 * functions (the template's) works for any payload. A key whose value is Undefined (no such user
 * property) is left out, as IoT SQL does.
 */
export function applyRule(
  rule: CompiledRule,
  topic: string,
  payload: Buffer,
  nowMs: number,
  /** The message's user properties, every value of each key: those the publishing thing's type propagates, and any the device added. */
  userProperties: Record<string, string[]> = {},
): { data: Buffer; partitionKey: string } | undefined {
  const seen = ruleTopic(rule, topic);
  if (!topicMatches(rule.from, seen)) return undefined;
  const partitionKey = rule.partitionKey(seen);
  const usesAll = rule.projections.some((p) => p.kind === 'all');
  let message: Record<string, unknown> | undefined;
  if (usesAll) {
    try {
      const parsed: unknown = JSON.parse(payload.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) message = parsed as Record<string, unknown>;
    } catch {
      message = undefined;
    }
    if (!message) return { data: payload, partitionKey };
  }
  const out: Record<string, unknown> = {};
  for (const p of rule.projections) {
    if (p.kind === 'all') Object.assign(out, message);
    else if (p.kind === 'timestamp') out[p.as] = nowMs;
    else if (p.kind === 'topic') out[p.as] = topicLevel(seen, p.level);
    else if (p.kind === 'payloadBase64') out[p.as] = payload.toString('base64');
    else if (userProperties[p.key]?.length) out[p.as] = [...userProperties[p.key]!];
  }
  return { data: Buffer.from(JSON.stringify(out)), partitionKey };
}
