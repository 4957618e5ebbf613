/**
 * The operator docs against the code: every `npm run deploy|package|redrive|quarantine|teardown`
 * command in docs/*.md parses with that command's own flags, deploy.md lists every stack output,
 * and the folder the first-sensor commands write keys into is git-ignored.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFlags, type FlagSpec } from '../../scripts/cli';
import { DEPLOY_FLAGS } from '../../scripts/deploy';
import { ROOT } from '../../scripts/lib/paths';
import { QUARANTINE_FLAGS } from '../../scripts/quarantine';
import { REDRIVE_FLAGS } from '../../scripts/redrive';
import { TEARDOWN_FLAGS } from '../../scripts/teardown';
import { buildTemplate } from '../../template/index';

const SPECS: Record<string, Record<string, FlagSpec>> = {
  deploy: DEPLOY_FLAGS,
  redrive: REDRIVE_FLAGS,
  quarantine: QUARANTINE_FLAGS,
  teardown: TEARDOWN_FLAGS,
  package: {
    bucket: { type: 'string', help: '', required: true },
    prefix: { type: 'string', help: '' },
    region: { type: 'string', help: '' },
  },
};

/** Shell words of a command line, quotes removed, variables and substitutions as placeholders. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) words.push((m[1] ?? m[2] ?? m[3])!.replace(/\$\([^)]*\)|\$\{?\w+\}?/g, 'x'));
  return words;
}

const docs = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => ({ file: `docs/${f}`, text: readFileSync(join(ROOT, 'docs', f), 'utf8') }));
const commands = docs.flatMap(({ file, text }) =>
  [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((block) =>
    block[1]!
      .replace(/\\\n/g, ' ')
      .split('\n')
      .flatMap((line) => {
        const m = /npm run (\w+) -- (.*)$/.exec(line.trim());
        return m && SPECS[m[1]!] ? [{ file, command: m[1]!, args: shellWords(m[2]!) }] : [];
      }),
  ),
);

describe('operator docs', () => {
  it('have commands to check', () => {
    expect(commands.map((c) => c.command)).toEqual(expect.arrayContaining(['deploy', 'redrive', 'quarantine', 'teardown']));
  });

  it.each(commands.map((c) => [c.file, `npm run ${c.command} -- ${c.args.join(' ')}`, c] as const))('%s: %s parses', (_, __, c) => {
    expect(() => parseFlags(c.command, c.args, SPECS[c.command]!)).not.toThrow();
  });

  it('docs/deploy.md lists every output of the template', () => {
    const deployDoc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
    for (const key of Object.keys(buildTemplate().Outputs)) expect(deployDoc, key).toContain(`\`${key}\``);
  });

  it('keys and certificates go under a git-ignored folder, and the runbook says so', () => {
    const ignore = readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['certs/', 'cfn-outputs/']));
    const deployDoc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
    expect(deployDoc).toContain('--private-key-outfile "certs/$THING.private.key"');
    expect(deployDoc).toContain('https://www.amazontrust.com/repository/AmazonRootCA1.pem');
    expect(deployDoc).toMatch(/mosquitto_pub [^\n]*-p 8883/);
    // The test publish is the device's own (MQTT/TLS with its certificate), not the operator's IAM one.
    const shBlocks = [...deployDoc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
    expect(shBlocks).not.toContain('aws iot-data publish');
  });

  it('docs/operations.md replays alerts from the archive ARN, not the bus', () => {
    const ops = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    expect(ops).toMatch(/describe-archive [^\n]*--query ArchiveArn/);
    expect(ops).toContain('--event-source-arn "$ARCHIVE_ARN"');
    expect(ops).not.toContain('--query EventSourceArn');
  });
});
