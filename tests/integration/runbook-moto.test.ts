/**
 * The runbooks as written, as a new user follows them: every ```sh block of docs/deploy.md and
 * docs/operations.md marked `<!-- runs against moto -->` runs with bash (-euo pipefail) against
 * moto, in one shell, in a checkout of the repository: the artifact bucket, `npm run deploy`, a
 * first sensor and the table query, then the operations runbook (alert replay, the redrives, the
 * quarantine, the teardown report), then `npm run teardown`. Every command must exit 0.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeCertificateCommand, IoTClient, ListAttachedPoliciesCommand, ListThingPrincipalsCommand, DescribeThingCommand, ListThingGroupsForThingCommand } from '@aws-sdk/client-iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/paths';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';

const MARK = '<!-- runs against moto -->';

/** The marked sh blocks of a markdown file, in order. */
export function markedBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const pattern = new RegExp(`${MARK.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``, 'g');
  for (const match of markdown.matchAll(pattern)) blocks.push(match[1]!);
  return blocks;
}

/**
 * The repository as a user's checkout: its files copied into a fresh directory (node_modules
 * linked), so that the scripts' repository root is that directory and the runbooks' relative paths
 * (cfn-outputs/, certs/, the quarantine export) land there, never in the working tree.
 */
function checkout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tapstack-runbook-'));
  const skip = new Set(['node_modules', '.git', 'cfn-outputs', 'certs', 'dist', 'reports', 'provisioning-out']);
  for (const name of readdirSync(ROOT)) {
    if (skip.has(name) || /^quarantine-.*\.jsonl$/.test(name)) continue;
    cpSync(join(ROOT, name), join(dir, name), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

describe('deploy, operate, tear down: the runbooks run as written against moto', () => {
  let moto: Moto;
  let work: string;

  beforeAll(async () => {
    moto = await startMoto();
    work = checkout();
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * bash, asynchronously: the test process must keep reading moto's log pipe while the commands
   * run, or moto blocks writing its request log once the pipe is full (spawnSync would hang it).
   */
  const run = (script: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: work,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ENDPOINT_URL: moto.endpoint,
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          AWS_REGION: 'us-east-1',
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_CONFIG_FILE: '/nonexistent',
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  let teardown = '';

  it('docs/deploy.md (bucket, npm run deploy, a first sensor, the table), then docs/operations.md (replay, redrives, quarantine): every step exits 0', async () => {
    const deployGuide = markedBlocks(readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8'));
    const runbook = markedBlocks(readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8'));
    expect(deployGuide).toHaveLength(5);
    const [bucket, deploy, sensor, query] = deployGuide as [string, string, string, string, string];
    teardown = deployGuide[4]!;
    expect(deploy).toContain('npm run deploy -- --env dev --bucket');
    expect(runbook.length).toBeGreaterThanOrEqual(6);
    expect(runbook.join('\n')).toContain('--event-source-arn "$ARCHIVE_ARN"');
    // moto's CreateStack skips AWS::IoT::ThingType (a placeholder): the test makes the type the
    // output names, as CloudFormation would have. Everything else is the documents' text.
    const thingType = 'aws iot create-thing-type --thing-type-name "$(jq -r .SensorThingTypeName cfn-outputs/tapstack-dev.json)" > /dev/null';
    const result = await run([bucket, deploy, thingType, sensor, query, ...runbook].join('\n'));
    const output = result.stdout + result.stderr;
    expect(result.status, output).toBe(0);

    // Deploy: the stack with its outputs, in the outputs file the runbooks read.
    expect(result.stdout).toMatch(/Stack tapstack-dev: CREATE_COMPLETE; \d+ outputs written to cfn-outputs\/tapstack-dev\.json/);
    expect(JSON.parse(readFileSync(join(work, 'cfn-outputs', 'tapstack-dev.json'), 'utf8')).SensorPolicyName).toBe('tapstack-dev-sensor');
    // A first sensor: thing with its zone, an active certificate under certs/ with the stack's policy.
    expect(existsSync(join(work, 'certs', 'sensor-00001.cert.pem'))).toBe(true);
    const iot = new IoTClient(motoClientConfig(moto.endpoint));
    const [principal] = (await iot.send(new ListThingPrincipalsCommand({ thingName: 'sensor-00001' }))).principals ?? [];
    const outputs = JSON.parse(readFileSync(join(work, 'cfn-outputs', 'tapstack-dev.json'), 'utf8')) as Record<string, string>;
    const thing = await iot.send(new DescribeThingCommand({ thingName: 'sensor-00001' }));
    expect(thing.attributes).toEqual({ zone: 'downtown' });
    expect(thing.thingTypeName).toBe(outputs.SensorThingTypeName);
    const groups = (await iot.send(new ListThingGroupsForThingCommand({ thingName: 'sensor-00001' }))).thingGroups ?? [];
    expect(groups.map((g) => g.groupName)).toEqual([outputs.SensorThingGroupName]);
    expect(principal).toMatch(/:cert\//);
    // The policy reaches the sensor through its group (npm run deploy attaches it there), never
    // through its certificate.
    const policies = (await iot.send(new ListAttachedPoliciesCommand({ target: principal }))).policies ?? [];
    expect(policies).toEqual([]);
    const cert = await iot.send(new DescribeCertificateCommand({ certificateId: principal!.slice(principal!.lastIndexOf('/') + 1) }));
    expect(cert.certificateDescription?.status).toBe('ACTIVE');
    // Operate: every ops command found the stack's resources; the replay went to the archive's ARN.
    expect(result.stdout).toContain('dry run: 0 messages read');
    expect(result.stdout).toContain('tapstack-dev-quarantine.fifo: empty');
    expect(output).not.toContain('deployed from an older template');
    expect(result.stdout).toContain('After aws cloudformation delete-stack --stack-name tapstack-dev (ThrowawayEnvironment=true), these stay:');
    const replays = await run('aws events list-replays --query "Replays[].EventSourceArn" --output text');
    expect(replays.stdout.trim()).toMatch(/^arn:aws:events:us-east-1:\d{12}:archive\/tapstack-dev-alerts$/);
  }, 400_000);

  it('then docs/deploy.md\'s npm run teardown -- --env dev --yes: exit 0, the stack gone', async () => {
    expect(teardown).toContain('npm run teardown -- --env dev --yes');
    const result = await run(teardown);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('attached to thing group(s) tapstack-dev-sensors,');
    expect(result.stdout).toMatch(/^Done: .*deleted stack tapstack-dev/m);
    const gone = await run('aws cloudformation describe-stacks --stack-name tapstack-dev 2>&1 || true');
    expect(gone.stdout).toContain('does not exist');
  }, 120_000);
});
