/** npm run build:template → templates/TapStack.yml */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULTS } from '../template/config';
import { buildTemplate, LAYERS, type TemplateDocument } from '../template/index';
import { toYaml } from '../template/serialize';
import { scriptFlags } from './cli';
import { resolveTemplate } from './lib/cfn-eval';
import { TEMPLATE_PATH } from './lib/paths';

/** What the template holds, counted: the figures build:template prints and npm run docs writes into the README. */
export interface TemplateCounts {
  resources: number;
  /** Resources without a Condition: created whatever the parameters. */
  unconditional: number;
  /** Resources created when every parameter keeps its default. */
  withDefaults: number;
  /** The traffic controllers' console's resources (its layer's). */
  console: number;
  parameters: number;
  outputs: number;
  alarms: number;
  /** templates/TapStack.yml's size. */
  bytes: number;
}

export function templateCounts(template: TemplateDocument = buildTemplate(), yaml: string = toYaml(template)): TemplateCounts {
  const resources = Object.values(template.Resources);
  return {
    resources: resources.length,
    unconditional: resources.filter((r) => r.Condition === undefined).length,
    withDefaults: Object.keys(resolveTemplate(template).resources).length,
    console: Object.keys(LAYERS.console(DEFAULTS).resources).filter((id) => id in template.Resources).length,
    parameters: Object.keys(template.Parameters).length,
    outputs: Object.keys(template.Outputs).length,
    alarms: resources.filter((r) => r.Type === 'AWS::CloudWatch::Alarm').length,
    bytes: Buffer.byteLength(yaml),
  };
}

/** Writes templates/TapStack.yml from the builders; answers the line to print. */
export function writeTemplate(): string {
  const started = performance.now();
  const template = buildTemplate();
  const yaml = toYaml(template);
  mkdirSync(dirname(TEMPLATE_PATH), { recursive: true });
  writeFileSync(TEMPLATE_PATH, yaml);
  const elapsed = performance.now() - started;
  const counts = templateCounts(template, yaml);
  return (
    `templates/TapStack.yml: ${counts.resources} resources (${counts.unconditional} without a condition), ` +
    `${counts.bytes} bytes, built in ${elapsed.toFixed(0)} ms`
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  scriptFlags('build:template', {}, 'Writes templates/TapStack.yml from the builders in template/.');
  console.log(writeTemplate());
}
