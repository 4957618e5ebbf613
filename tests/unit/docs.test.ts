import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  architectureMermaid,
  alarmsMarkdown,
  CAPACITY_PATH,
  capacityMarkdown,
  OPERATIONS_PATH,
  operationsWithAlarms,
  PARAMETERS_PATH,
  parametersMarkdown,
  README_PATH,
  readmeRegenerated,
  readmeWithArchitecture,
  readmeWithCounts,
  SECURITY_PATH,
  securityWithAcknowledgements,
} from '../../scripts/docs';
import { DEFAULT_IO } from '../../handlers/processor/io';
import { NAG_ACKNOWLEDGEMENTS } from '../../template/nag-acknowledgements';
import { buildTemplate } from '../../template/index';
import { TEMPLATE_PATH } from '../../scripts/lib/paths';

describe('generated documentation (regenerate with npm run docs)', () => {
  it('docs/parameters.md lists every parameter of the template', () => {
    const text = readFileSync(PARAMETERS_PATH, 'utf8');
    expect(text).toBe(parametersMarkdown());
    for (const name of Object.keys(buildTemplate().Parameters)) expect(text).toContain(`| ${name} |`);
  });

  it('docs/capacity.md is the plan for 50,000 sensors at 1 Hz', () => {
    expect(readFileSync(CAPACITY_PATH, 'utf8')).toBe(capacityMarkdown());
  });

  it('docs/operations.md has a runbook row for every alarm of the template', () => {
    const operations = readFileSync(OPERATIONS_PATH, 'utf8');
    expect(operationsWithAlarms(operations)).toBe(operations);
    const alarms = Object.values(buildTemplate().Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarmsMarkdown().split('\n').filter((l) => l.startsWith('| `'))).toHaveLength(alarms.length);
  });

  it('docs/security.md lists every acknowledged cdk-nag finding with its reason', () => {
    const security = readFileSync(SECURITY_PATH, 'utf8');
    expect(securityWithAcknowledgements(security)).toBe(security);
    for (const a of NAG_ACKNOWLEDGEMENTS) expect(security).toContain(`| ${a.resource} | ${a.kind} |`);
  });

  it('README.md carries the current architecture diagram', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(readmeWithArchitecture(readme)).toBe(readme);
    expect(architectureMermaid()).toContain('ProcessorEventSourceMapping --> ReadingsStream');
  });

  it('README.md states the template\'s counts as the template has them (resources, parameters, outputs, alarms, bytes)', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(readmeWithCounts(readme)).toBe(readme);
    expect(readmeRegenerated(readme)).toBe(readme);
    const template = buildTemplate();
    const n = (x: number) => x.toLocaleString('en-US');
    const resources = Object.keys(template.Resources).length;
    const bytes = readFileSync(TEMPLATE_PATH).length;
    expect(readme).toContain(`${n(resources)} resources (`);
    expect(readme).toContain(`${n(Object.keys(template.Parameters).length)} parameters, ${n(Object.keys(template.Outputs).length)} outputs`);
    expect(readme).toContain(`${n(bytes)} bytes`);
    // A template with a resource and an output fewer gives other counts: the README follows the template.
    const [dropped] = Object.keys(template.Resources).filter((id) => !template.Resources[id]!.Condition);
    const [output] = Object.keys(template.Outputs);
    const smaller = { ...template, Resources: { ...template.Resources }, Outputs: { ...template.Outputs } };
    delete smaller.Resources[dropped!];
    delete smaller.Outputs[output!];
    const regenerated = readmeWithCounts(readme, smaller);
    expect(regenerated).toContain(`${n(resources - 1)} resources (`);
    expect(regenerated).toContain(`${n(Object.keys(template.Outputs).length - 1)} outputs`);
  });

  it('README.md types no count of the template by hand (every one is inside a generated section)', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    const handTyped = readme.replace(/<!-- ([a-z-]+):start [^>]*-->[\s\S]*?<!-- \1:end -->/g, '');
    expect(handTyped).not.toMatch(/\b\d[\d,]* (resources|parameters|outputs|alarms)\b/);
  });
});

describe('README.md', () => {
  const readme = readFileSync(README_PATH, 'utf8');
  it('documents every npm script', () => {
    const scripts = Object.keys(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).scripts);
    for (const script of scripts) expect(readme, script).toMatch(new RegExp(`npm (run )?${script.replace(':', ':')}\\b`));
  });
  it('points only inside the repository (a clone has nothing beside it)', () => {
    expect(readme).not.toMatch(/\]\(\.\.\/|`\.\.\/shared/);
    for (const [, target] of readme.matchAll(/\]\(((?!https?:|#)[^)#]+)/g)) expect(existsSync(new URL(`../../${target}`, import.meta.url)), target).toBe(true);
  });
  it('puts the quick start first, above the generated architecture', () => {
    expect(readme.indexOf('## Quick start')).toBeGreaterThan(0);
    expect(readme.indexOf('## Quick start')).toBeLessThan(readme.indexOf('## Architecture'));
    expect(readme.indexOf('## Quick start')).toBeLessThan(readme.indexOf('```mermaid'));
  });
  it('names the Node.js the dependencies need, as package.json engines does', () => {
    const engines = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).engines.node as string;
    const version = /^>=(\d+\.\d+)$/.exec(engines)![1]!;
    expect(readme).toContain(`Node.js ${version} or later`);
    // vitest's own engines: the suite cannot run on less.
    const vitest = JSON.parse(readFileSync(new URL('../../node_modules/vitest/package.json', import.meta.url), 'utf8')).engines.node as string;
    expect(vitest).toMatch(new RegExp(`\\^${version.replace('.', '\\.')}`));
  });
  it('names only files that exist ("Where to change what" and every other path in backticks)', () => {
    // An environment's parameter file the reader makes (docs/deploy.md's example of a wrong one).
    const examples = new Set(['params/staging.json']);
    for (const file of ['README.md', ...readdirSync(new URL('../../docs/', import.meta.url)).map((f) => `docs/${f}`)]) {
      const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
      for (const [, path] of text.matchAll(/`((?:src|handlers|scripts|tests|contract|docs|params|console|templates)\/[^`<\s]+)`/g)) {
        const target = path!.replace(/[:#].*$/, '');
        if (!examples.has(target)) expect(existsSync(new URL(`../../${target}`, import.meta.url)), `${file}: ${path}`).toBe(true);
      }
    }
  });
  it('"Where to change what" names code that is in the files it names', () => {
    const section = /## Where to change what\n([\s\S]*?)\n## /.exec(readme)![1]!;
    for (const row of section.split('\n').filter((l) => l.startsWith('| a new'))) {
      const ticked = [...row.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      const files = ticked.filter((t) => /\.(ts|json|md)$/.test(t) && existsSync(new URL(`../../${t}`, import.meta.url)));
      const code = files.map((f) => readFileSync(new URL(`../../${f}`, import.meta.url), 'utf8')).join('\n');
      const symbols = ticked.filter((t) => /^[A-Za-z_][\w.]*$/.test(t) && !/\.(ts|json|md)$/.test(t));
      expect(symbols.length, row.slice(0, 40)).toBeGreaterThan(0);
      for (const symbol of symbols) for (const part of symbol.split('.')) expect(code, `${row.slice(0, 40)}: ${symbol}`).toContain(part);
    }
  });
  it('states the calls in flight the processor allows (DEFAULT_IO.concurrency)', () => {
    expect(readme).toContain(`up to ${DEFAULT_IO.concurrency} calls in flight per sink`);
  });
  it('has a two-command quick start', () => {
    const quickStart = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]!.trim().split('\n');
    expect(quickStart.map((l) => l.split('#')[0]!.trim())).toEqual(['npm ci && npm start', 'npm test']);
  });
});

describe('the documents speak of the project as it is', () => {
  const files = ['README.md', ...readdirSync(new URL('../../docs/', import.meta.url)).map((f) => `docs/${f}`)];
  it.each(files)('%s has no words from the project\'s history', (file) => {
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    expect(text).not.toMatch(/the seed's|seed's design|before the cost work|the issue's|the issue\b|the brief's/i);
  });
  it('counts carry their noun in the singular too (no "1 quarantined readings")', () => {
    for (const file of files) expect(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'), file).not.toMatch(/\b1 (quarantined readings|PutRecords calls|certificates|messages|outputs)\b/);
  });
});
