/**
 * npm run lint:nag -- [--template FILE] [--no-acknowledgements]
 *
 * cdk-nag's AwsSolutions and NIST 800-53 R5 packs over a template (templates/TapStack.yml by
 * default): the findings per pack, how many template/nag-acknowledgements.ts acknowledges, and every one
 * left open (exit code 1 when any is). --no-acknowledgements counts them all (e.g. on an older
 * template: `git show main:templates/TapStack.yml > /tmp/main.yml`).
 */
import { existsSync } from 'node:fs';
import { NAG_ACKNOWLEDGEMENTS } from '../template/nag-acknowledgements';
import { parseFlags, runMain, UsageError } from './cli';
import { acknowledgementFor, countByPack, covers, describeFinding, RULE_PACKS, runRulePacks } from './lib/nag';
import { TEMPLATE_PATH } from './lib/paths';

export function nag(argv: string[], print: (line: string) => void = console.log): { exitCode: number } {
  const flags = parseFlags(
    'lint:nag',
    argv,
    {
      template: { type: 'string', help: 'template file, default templates/TapStack.yml' },
      'no-acknowledgements': { type: 'boolean', help: 'count every finding, acknowledged or not' },
    },
    'Runs the AwsSolutions and NIST 800-53 R5 rule packs of cdk-nag over the template.',
  );
  const template = flags.template ?? TEMPLATE_PATH;
  if (!existsSync(template)) throw new UsageError(`lint:nag: --template ${template} does not exist`);
  const all = runRulePacks(template);
  const acknowledgements = flags['no-acknowledgements'] ? [] : NAG_ACKNOWLEDGEMENTS;
  const open = all.filter((f) => !acknowledgements.some((a) => covers(a, f)));
  const counts = countByPack(all);
  const openCounts = countByPack(open);
  for (const pack of RULE_PACKS) {
    print(`${pack}: ${counts[pack]} finding(s), ${counts[pack] - openCounts[pack]} acknowledged, ${openCounts[pack]} open`);
  }
  for (const f of open) print(`open: ${describeFinding(f)}\n  to acknowledge: ${acknowledgementFor(f)}`);
  return { exitCode: open.length > 0 ? 1 : 0 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain('lint:nag', async () => {
    process.exitCode = nag(process.argv.slice(2)).exitCode;
  });
}
