/**
 * IoT Core's decisions, locally and pure: the sensor policy (may this client connect, may this
 * thing publish there) and the topic rule (which topics it takes, the record it makes, its
 * partition key), all read from the template's policy document and rule SQL (stack-view.ts).
 * Only the parts of IoT SQL the template uses are understood; anything else is an error, so a
 * template change the simulator cannot follow fails loudly instead of being emulated wrongly.
 */
import { LOCAL_PSEUDO, THING_VARIABLE, type PolicyView, type TopicRuleView } from './stack-view';

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
 * The policy's iot:Connect decision: the client id must be allowed for the connecting thing
 * (whose name is the certificate's CN: the thing the certificate is attached to).
 */
export function mayConnect(policy: PolicyView, thing: string, clientId: string): boolean {
  return policy.connectResources.some((r) => resourceMatcher(r, thing).test(`${ARN_PREFIX}client/${clientId}`));
}

/** The policy's iot:Publish decision for a thing and a topic. */
export function mayPublish(policy: PolicyView, thing: string, topic: string): boolean {
  return policy.publishResources.some((r) => resourceMatcher(r, thing).test(`${ARN_PREFIX}topic/${topic}`));
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
  /** `get(get_user_properties('<key>'), 0) AS x`: the first value of a user property (the thing type's propagated attribute). */
  | { kind: 'userProperty'; key: string; as: string };

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

/** Compiles the rule's SQL (`SELECT *, timestamp() AS a, topic(n) AS b FROM 'filter'`) and partition key. */
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
    const property = /^get\(\s*get_user_properties\(\s*'([^']+)'\s*\)\s*,\s*0\s*\)\s+AS\s+(\w+)$/i.exec(p);
    if (property) return { kind: 'userProperty', key: property[1]!, as: property[2]! };
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
 * the topic. A payload that is not a JSON object is forwarded as it came: `*` refers to a binary
 * payload as raw data, and AWS documents adding fields only to empty or JSON payloads
 * (https://docs.aws.amazon.com/iot/latest/developerguide/binary-payloads.html) — an approximation
 * of what IoT Core does with it; the processor quarantines it either way.
 */
export function applyRule(
  rule: CompiledRule,
  topic: string,
  payload: Buffer,
  nowMs: number,
  /** The message's user properties: those the publishing thing's type propagates from its attributes. */
  userProperties: Record<string, string> = {},
): { data: Buffer; partitionKey: string } | undefined {
  const seen = ruleTopic(rule, topic);
  if (!topicMatches(rule.from, seen)) return undefined;
  let message: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) message = parsed as Record<string, unknown>;
  } catch {
    message = undefined;
  }
  if (!message) return { data: payload, partitionKey: rule.partitionKey(seen) };
  const out: Record<string, unknown> = {};
  for (const p of rule.projections) {
    if (p.kind === 'all') Object.assign(out, message);
    else if (p.kind === 'timestamp') out[p.as] = nowMs;
    else if (p.kind === 'topic') out[p.as] = topicLevel(seen, p.level);
    // A missing property is Undefined in IoT SQL: the field is left out.
    else if (userProperties[p.key] !== undefined) out[p.as] = userProperties[p.key];
  }
  return { data: Buffer.from(JSON.stringify(out)), partitionKey: rule.partitionKey(seen) };
}
