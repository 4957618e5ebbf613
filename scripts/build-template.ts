/** npm run build:template → templates/TapStack.yml */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildTemplate } from '../src/index';
import { toYaml } from '../src/serialize';
import { TEMPLATE_PATH } from './lib/paths';


const started = performance.now();
const yaml = toYaml(buildTemplate());
mkdirSync(dirname(TEMPLATE_PATH), { recursive: true });
writeFileSync(TEMPLATE_PATH, yaml);
const resources = (yaml.match(/^  [A-Za-z0-9]+:\n    Type: /gm) ?? []).length;
console.log(
  `templates/TapStack.yml: ${resources} resources, ${Buffer.byteLength(yaml)} bytes, built in ${(performance.now() - started).toFixed(0)} ms`,
);
