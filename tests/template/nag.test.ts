/**
 * cdk-nag's rule packs (AwsSolutions, NIST 800-53 R5) over the committed template: every finding is
 * fixed in the template or acknowledged, with its reason, in template/nag-acknowledgements.ts, through
 * cdk-nag 3's acknowledgement API (Validations.of(resource).acknowledge); and every acknowledgement
 * still matches a finding, so the list cannot outlive what it excuses.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { NAG_ACKNOWLEDGEMENTS } from '../../template/nag-acknowledgements';
import { acknowledgementFor, covers, describeFinding, RULE_PACKS, runRulePacks, type NagFinding } from '../../scripts/lib/nag';
import { committedTemplate, TEMPLATE_PATH } from '../helpers/template';

describe('cdk-nag AwsSolutions and NIST 800-53 R5 on templates/TapStack.yml', () => {
  let all: NagFinding[];
  let open: NagFinding[];
  beforeAll(() => {
    all = runRulePacks(TEMPLATE_PATH);
    open = runRulePacks(TEMPLATE_PATH, NAG_ACKNOWLEDGEMENTS);
  }, 120_000);

  it('runs both packs and finds what they find on this template', () => {
    for (const pack of RULE_PACKS) expect(all.some((f) => f.pack === pack), pack).toBe(true);
  });

  it('leaves no finding neither fixed nor acknowledged with its reason', () => {
    const message = open.length
      ? `${open.length} finding(s) of cdk-nag neither fixed nor acknowledged:\n` +
        open.map((f) => `  ${describeFinding(f)}`).join('\n') +
        '\nFix the template; or, if a finding is a deliberate choice or the rule misreads the template, add an entry with the ' +
        'reason to template/nag-acknowledgements.ts:\n' +
        open.map((f) => `  ${acknowledgementFor(f)}`).join('\n')
      : '';
    expect(message).toBe('');
  });

  it('acknowledges only findings the packs still report (no stale entry)', () => {
    const stale = NAG_ACKNOWLEDGEMENTS.filter((a) => !all.some((f) => covers(a, f)));
    expect(stale.map((a) => `${a.resource}: ${a.finding} (no such finding any more: remove the entry)`)).toEqual([]);
  });

  it('gives every acknowledgement a reason of its own, on a resource of the template', () => {
    const resources = Object.keys(committedTemplate().Resources);
    for (const a of NAG_ACKNOWLEDGEMENTS) {
      expect(resources, a.resource).toContain(a.resource);
      expect(a.reason.length, `${a.resource} ${a.finding}`).toBeGreaterThan(60);
    }
    const keys = NAG_ACKNOWLEDGEMENTS.map((a) => `${a.resource} ${a.finding}`);
    expect(keys.length).toBe(new Set(keys).size);
  });
});
