/**
 * The stack outputs files: <dir>/<stack name>.json per stack (so deploying prod then dev keeps
 * both) and <dir>/flat-outputs.json, a copy of the last deploy's. The directory is
 * `--outputs-dir`, else TAPSTACK_OUTPUTS_DIR, else cfn-outputs/ in the repository (git-ignored);
 * tests point it at a temporary directory.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { buildTemplate } from '../../template/index';
import { LogicalId } from '../../template/names';
import { DeployError } from '../aws';
import { ROOT } from './paths';

export const OUTPUTS_DIR_ENV = 'TAPSTACK_OUTPUTS_DIR';
export const LAST_DEPLOY_FILE = 'flat-outputs.json';

export const outputsDir = (flag?: string, env: NodeJS.ProcessEnv = process.env): string =>
  resolve(flag ?? env[OUTPUTS_DIR_ENV] ?? join(ROOT, 'cfn-outputs'));

export const stackOutputsPath = (dir: string, stackName: string): string => join(dir, `${stackName}.json`);

/** Writes <dir>/<stack>.json and <dir>/flat-outputs.json; answers the two paths. */
export function writeOutputsFiles(dir: string, stackName: string, outputs: Record<string, string>): string[] {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(outputs, null, 2)}\n`;
  const paths = [stackOutputsPath(dir, stackName), join(dir, LAST_DEPLOY_FILE)];
  for (const path of paths) writeFileSync(path, text);
  return paths;
}

/** IoT policy names: [\w+=,.@-]+ (https://docs.aws.amazon.com/iot/latest/apireference/API_CreatePolicy.html). */
const IOT_POLICY_NAME = /^[\w+=,.@-]{1,128}$/;

/**
 * A physical name as the template spells it (`Fn::Sub` of the stack's parameters), for a resource
 * whose physical ID the stack does not report usably (moto reports none for an IoT policy).
 */
export function templateName(logicalId: string, property: string, parameters: Record<string, string>): string | undefined {
  const resource = (buildTemplate().Resources as Record<string, { Properties?: Record<string, unknown> }>)[logicalId];
  const value = resource?.Properties?.[property];
  if (typeof value === 'string') return value;
  const pattern = (value as { 'Fn::Sub'?: unknown } | undefined)?.['Fn::Sub'];
  if (typeof pattern !== 'string') return undefined;
  return pattern.replace(/\$\{([^}]+)\}/g, (_, name: string) => parameters[name] ?? `\${${name}}`);
}

/**
 * The outputs DescribeStacks reports for a stack, as key → value. An emulator's unusable value is
 * replaced by what the template names: moto renders `Ref` of an IoT policy or thing type as the
 * Python object (`<moto.iot.models.FakePolicy object at 0x…>`), never its name.
 */
export function outputsOf(stack: Stack | undefined): Record<string, string> {
  const outputs = Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
  const parameters = Object.fromEntries((stack?.Parameters ?? []).map((p) => [p.ParameterKey!, p.ParameterValue!]));
  for (const [output, logicalId, property, pattern] of REFERENCED_NAMES) {
    if (outputs[output] === undefined || pattern.test(outputs[output])) continue;
    const name = templateName(logicalId, property, parameters);
    if (name) outputs[output] = name;
  }
  return outputs;
}

/**
 * Outputs that are the `Ref` of an IoT resource, which moto renders as its Python object: the
 * output, the resource, the property naming it, and what a real name looks like (IoT thing type
 * names: [a-zA-Z0-9:_-]+, https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThingType.html).
 */
const REFERENCED_NAMES: [string, string, string, RegExp][] = [
  ['SensorPolicyName', LogicalId.SensorPolicy, 'PolicyName', IOT_POLICY_NAME],
  ['SensorThingTypeName', LogicalId.SensorThingType, 'ThingTypeName', /^[a-zA-Z0-9:_-]{1,128}$/],
];

/**
 * A stack's outputs: from CloudFormation (DescribeStacks), else from <dir>/<stack>.json when the
 * live stack reports none (moto drops them on change-set deploys). Checks that every `required`
 * output is there and names the missing ones.
 */
export async function stackOutputs(
  cfn: CloudFormationClient,
  stackName: string,
  dir: string,
  required: readonly string[] = [],
): Promise<Record<string, string>> {
  let stack;
  try {
    stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (error) {
    const message = (error as Error).message ?? '';
    if (/does not exist/.test(message)) throw new DeployError(`Stack ${stackName} does not exist in this account and region (deploy it, or pass --stack-name)`, { cause: error });
    throw error;
  }
  let outputs = outputsOf(stack);
  if (Object.keys(outputs).length === 0 && existsSync(stackOutputsPath(dir, stackName))) {
    outputs = JSON.parse(readFileSync(stackOutputsPath(dir, stackName), 'utf8')) as Record<string, string>;
  }
  const missing = required.filter((k) => !outputs[k]);
  if (missing.length > 0) throw new DeployError(`Stack ${stackName} has no output ${missing.join(', ')} (deployed from an older template? run npm run deploy)`);
  return outputs;
}
