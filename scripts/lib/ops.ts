/**
 * What the operations commands (redrive, quarantine, teardown) share: the flags that pick a stack,
 * the AWS target and identity, and the stack's outputs, from which every resource name comes.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { ENVIRONMENT_SUFFIX_PATTERN, ENVIRONMENT_SUFFIX_RULE } from '../../contract';
import { clientConfig, resolveCredentials, resolveTarget, type AwsTarget } from '../aws';
import { UsageError, type FlagSpec } from '../cli';
import { outputsDir, stackOutputs } from './outputs';

export const STACK_FLAGS = {
  env: { type: 'string', help: 'environment (the EnvironmentSuffix of the stack)', required: true },
  'stack-name': { type: 'string', help: 'stack name, default tapstack-<env>' },
  region: { type: 'string', help: 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile)' },
  'outputs-dir': { type: 'string', help: 'outputs files, read when the stack reports no outputs; default cfn-outputs/' },
} as const satisfies Record<string, FlagSpec>;

/** Everything a command needs to reach one stack's resources. */
export interface OpsContext {
  env: string;
  stackName: string;
  target: AwsTarget;
  credentials?: AwsCredentialIdentity;
  outputs: Record<string, string>;
  print: (line: string) => void;
  /** SDK client settings (region, endpoint, credentials, HTTP/1.1). */
  config: ReturnType<typeof clientConfig>;
}

/** Injected by tests: the target and identity (instead of the environment), and where lines go. */
export interface OpsDeps {
  target?: AwsTarget;
  credentials?: AwsCredentialIdentity;
  print?: (line: string) => void;
  /** Answers the confirmation questions (instead of the terminal). */
  confirm?: import('./confirm').Confirm;
}

export async function opsContext(
  command: string,
  flags: { env?: string; 'stack-name'?: string; region?: string; 'outputs-dir'?: string },
  requiredOutputs: readonly string[],
  deps: OpsDeps = {},
): Promise<OpsContext> {
  const env = flags.env!;
  if (!ENVIRONMENT_SUFFIX_PATTERN.test(env)) throw new UsageError(`${command}: --env '${env}' must be ${ENVIRONMENT_SUFFIX_RULE}`);
  const stackName = flags['stack-name'] ?? `tapstack-${env}`;
  const print = deps.print ?? console.log;
  const target = deps.target ?? (await resolveTarget(flags.region));
  const credentials = deps.credentials ?? (deps.target ? undefined : (await resolveCredentials()).credentials);
  const config = clientConfig(target, credentials);
  const outputs = await stackOutputs(new CloudFormationClient(config), stackName, outputsDir(flags['outputs-dir']), requiredOutputs);
  return { env, stackName, target, credentials, outputs, print, config };
}

/** "30m", "12h", "7d", "90s" → milliseconds; a clear error naming the flag otherwise. */
export function parseDuration(command: string, flag: string, raw: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(raw.trim());
  if (!match) throw new UsageError(`${command}: --${flag} takes a duration such as 90s, 30m, 12h or 7d, got '${raw}'`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** The queue name at the end of a queue URL. */
export const queueName = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

export { templateName } from './outputs';
