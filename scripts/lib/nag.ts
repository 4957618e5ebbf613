/**
 * cdk-nag's AwsSolutions and NIST 800-53 R5 rule packs over a CloudFormation template file: the
 * template imported into a CDK app (aws-cdk-lib/cloudformation-include), the packs registered as
 * validation plugins (cdk-nag 3), the synthesis's validation report read back. cdk-nag 3 ignores a
 * template's Metadata suppressions: acknowledgements go through `Validations.of(resource).acknowledge()`.
 * https://github.com/cdklabs/cdk-nag/blob/main/MIGRATION.md
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import type { Acknowledgement } from '../../template/nag-acknowledgements';

/** The report synthesis writes into the cloud assembly. */
const REPORT_FILE = 'validation-report.json';

/** The packs, by the plugin name the report gives them. */
export const RULE_PACKS = ['AwsSolutions', 'NIST.800.53.R5'] as const;
export type RulePack = (typeof RULE_PACKS)[number];

export interface NagFinding {
  pack: RulePack;
  /** The rule id as reported, with its granular part: what an acknowledgement names. */
  finding: string;
  /** Logical ID of the resource. */
  resource: string;
  resourceType: string;
  severity: string;
  description: string;
}

interface Report {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; description: string; severity: string; violatingConstructs: { constructPath: string; constructFqn?: string }[] }[];
  }[];
}

/** The CloudFormation type of a construct, from its fully qualified name (aws-cdk-lib.aws_iam.CfnRole → AWS::IAM::Role is not derivable; the fqn is shown). */
const shortType = (fqn: string | undefined) => (fqn ?? '').replace(/^aws-cdk-lib\./, '');

/**
 * Runs both packs over `templatePath`, with `acknowledgements` acknowledged through the CDK API.
 * @returns the findings left, in the order the report lists them.
 * @throws when an acknowledgement names a resource the template does not have.
 */
export function runRulePacks(templatePath: string, acknowledgements: readonly Acknowledgement[] = []): NagFinding[] {
  const outdir = mkdtempSync(join(tmpdir(), 'tapstack-nag-'));
  try {
    // CDK's own template validation (cfn-lint-like) is not one of the packs: cfn-lint runs in its own test.
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'TapStack');
    const template = new CfnInclude(stack, 'Template', { templateFile: templatePath });
    for (const a of acknowledgements) {
      let resource: CfnResource;
      try {
        resource = template.getResource(a.resource);
      } catch {
        throw new Error(`acknowledgement of ${a.finding} names resource ${a.resource}, which ${templatePath} does not have`);
      }
      Validations.of(resource).acknowledge({ id: a.finding, reason: a.reason });
    }
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
    // Synthesis prints the report too; the caller gets it as data.
    const consoleMethods = { log: console.log, error: console.error, warn: console.warn };
    console.log = console.error = console.warn = () => undefined;
    try {
      app.synth();
    } catch (error) {
      // A pack that reports violations interrupts synthesis after writing the report.
      if (!existsSync(join(outdir, REPORT_FILE))) throw error;
    } finally {
      Object.assign(console, consoleMethods);
    }
    if (!existsSync(join(outdir, REPORT_FILE))) return []; // no plugin reported anything
    const report = JSON.parse(readFileSync(join(outdir, REPORT_FILE), 'utf8')) as Report;
    const findings: NagFinding[] = [];
    for (const plugin of report.pluginReports) {
      if (!(RULE_PACKS as readonly string[]).includes(plugin.pluginName)) continue;
      for (const v of plugin.violations) {
        for (const c of v.violatingConstructs) {
          findings.push({
            pack: plugin.pluginName as RulePack,
            finding: v.ruleName,
            resource: c.constructPath.split('/').at(-1)!,
            resourceType: shortType(c.constructFqn),
            severity: v.severity,
            description: v.description,
          });
        }
      }
    }
    return findings;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Findings per pack. */
export const countByPack = (findings: readonly NagFinding[]): Record<RulePack, number> =>
  Object.fromEntries(RULE_PACKS.map((p) => [p, findings.filter((f) => f.pack === p).length])) as Record<RulePack, number>;

/** Whether an acknowledgement covers a finding: the same resource and rule id (a rule-level id covers its granular findings). */
export const covers = (a: Acknowledgement, f: NagFinding): boolean =>
  a.resource === f.resource && (a.finding === f.finding || f.finding.startsWith(`${a.finding}[`));

/** What to paste into template/nag-acknowledgements.ts for a finding (after fixing what can be fixed). */
export function acknowledgementFor(f: NagFinding): string {
  return `{ resource: '${f.resource}', finding: ${JSON.stringify(f.finding)}, kind: 'deliberate', reason: '<why this is a deliberate choice, or why the rule misreads the template>' },`;
}

/** One line per finding: the rule, the resource and what the rule says. */
export const describeFinding = (f: NagFinding): string =>
  `${f.finding} on ${f.resource} (${f.resourceType}, ${f.severity}): ${f.description.split('\n')[0]}`;
