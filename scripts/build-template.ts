/** npm run build:template → templates/TapStack.yml */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildTemplate } from '../src/index';
import { toYaml } from '../src/serialize';
import { scriptFlags } from './cli';
import { TEMPLATE_PATH } from './lib/paths';

/** Writes templates/TapStack.yml from the builders; answers the line to print. */
export function writeTemplate(): string {
  const started = performance.now();
  const template = buildTemplate();
  const yaml = toYaml(template);
  mkdirSync(dirname(TEMPLATE_PATH), { recursive: true });
  writeFileSync(TEMPLATE_PATH, yaml);
  const resources = Object.keys(template.Resources).length;
  const unconditional = Object.values(template.Resources).filter((r) => r.Condition === undefined).length;
  return (
    `templates/TapStack.yml: ${resources} resources (${unconditional} without a condition), ` +
    `${Buffer.byteLength(yaml)} bytes, built in ${(performance.now() - started).toFixed(0)} ms`
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  scriptFlags('build:template', {}, 'Writes templates/TapStack.yml from the builders in src/.');
  console.log(writeTemplate());
}
