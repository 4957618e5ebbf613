/**
 * The runbooks as written: every ```sh block of docs/operations.md and docs/deploy.md marked
 * `<!-- runs against moto -->` runs with bash (-euo pipefail) against a stack CreateStack'd into
 * moto, the blocks of one file in one shell, in order. The shell gets ENV and OUT as the runbook's
 * preamble sets them; the deploy guide sets its own, relative to a temporary working directory.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeCertificateCommand, IoTClient, ListAttachedPoliciesCommand, ListThingPrincipalsCommand, DescribeThingCommand, ListThingGroupsForThingCommand } from '@aws-sdk/client-iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/paths';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';
import { deployToMoto, type DeployedStack } from '../helpers/stack';

const MARK = '<!-- runs against moto -->';

/** The marked sh blocks of a markdown file, in order. */
export function markedBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const pattern = new RegExp(`${MARK.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``, 'g');
  for (const match of markdown.matchAll(pattern)) blocks.push(match[1]!);
  return blocks;
}

describe('runbooks run as written against moto', () => {
  let moto: Moto;
  let deployed: DeployedStack;
  let work: string;
  const before = new Set(readdirSync(ROOT));

  beforeAll(async () => {
    moto = await startMoto();
    deployed = await deployToMoto(moto.endpoint, 'tapstack-dev', { EnvironmentSuffix: 'dev', ThrowawayEnvironment: 'true', KinesisShardCount: '1', ProcessorReservedConcurrency: '2' });
    work = mkdtempSync(join(tmpdir(), 'tapstack-runbook-'));
    mkdirSync(join(work, 'cfn-outputs'));
    // moto renders the Ref of an IoT policy as a Python object: the name as the template makes it.
    writeFileSync(join(work, 'cfn-outputs', 'tapstack-dev.json'), JSON.stringify({ ...deployed.outputs, SensorPolicyName: 'tapstack-dev-sensor' }));
  }, 180_000);
  afterAll(async () => {
    await moto?.stop();
    rmSync(work, { recursive: true, force: true });
    // The quarantine export of the runbook lands where npm runs: the repository (git-ignored).
    for (const name of readdirSync(ROOT)) if (!before.has(name) && /^quarantine-dev-\d+\.jsonl$/.test(name)) rmSync(join(ROOT, name));
  });

  /**
   * bash, asynchronously: the test process must keep reading moto's log pipe while the commands
   * run, or moto blocks writing its request log once the pipe is full (spawnSync would hang it).
   */
  const run = (script: string, cwd: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
        cwd,
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
          TAPSTACK_OUTPUTS_DIR: join(work, 'cfn-outputs'),
          ENV: 'dev',
          OUT: join(work, 'cfn-outputs', 'tapstack-dev.json'),
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  it('docs/operations.md: alert replay from the archive, DLQ/quarantine/alert redrives, teardown report', async () => {
    const blocks = markedBlocks(readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    expect(blocks.join('\n')).toContain('--event-source-arn "$ARCHIVE_ARN"');
    const result = await run(blocks.join('\n'), ROOT);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('dry run: 0 messages read');
    expect(result.stdout).toContain('tapstack-dev-quarantine.fifo: empty');
    expect(result.stdout).toContain('After aws cloudformation delete-stack --stack-name tapstack-dev (ThrowawayEnvironment=true), these stay:');
    // The replay went to the archive's ARN.
    const replays = await run('aws events list-replays --query "Replays[].EventSourceArn" --output text', work);
    expect(replays.stdout.trim()).toMatch(/^arn:aws:events:us-east-1:\d{12}:archive\/tapstack-dev-alerts$/);
  }, 300_000);

  it('docs/deploy.md: a first sensor (thing of the type, in the sensor group, certificate under certs/) and the table query', async () => {
    const blocks = markedBlocks(readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8'));
    expect(blocks).toHaveLength(2);
    // moto's CreateStack creates neither an AWS::IoT::ThingType nor an AWS::IoT::ThingGroup
    // (placeholders): create the type and the group the outputs name, as CloudFormation would have.
    const typed = await run(
      'aws iot create-thing-type --thing-type-name "$(jq -r .SensorThingTypeName "$OUT")" && aws iot create-thing-group --thing-group-name "$(jq -r .SensorThingGroupName "$OUT")"',
      work,
    );
    expect(typed.status, typed.stderr).toBe(0);
    const result = await run(blocks.join('\n'), work);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(existsSync(join(work, 'certs', 'sensor-00001.cert.pem'))).toBe(true);
    expect(existsSync(join(work, 'certs', 'sensor-00001.private.key'))).toBe(true);
    const iot = new IoTClient(motoClientConfig(moto.endpoint));
    const [principal] = (await iot.send(new ListThingPrincipalsCommand({ thingName: 'sensor-00001' }))).principals ?? [];
    const thing = await iot.send(new DescribeThingCommand({ thingName: 'sensor-00001' }));
    expect(thing.attributes).toEqual({ zone: 'downtown' });
    expect(thing.thingTypeName).toBe(deployed.outputs.SensorThingTypeName);
    const groups = (await iot.send(new ListThingGroupsForThingCommand({ thingName: 'sensor-00001' }))).thingGroups ?? [];
    expect(groups.map((g) => g.groupName)).toEqual([deployed.outputs.SensorThingGroupName]);
    expect(principal).toMatch(/:cert\//);
    // The policy reaches the sensor through its group (npm run deploy attaches it there), never
    // through its certificate.
    const policies = (await iot.send(new ListAttachedPoliciesCommand({ target: principal }))).policies ?? [];
    expect(policies).toEqual([]);
    const cert = await iot.send(new DescribeCertificateCommand({ certificateId: principal!.slice(principal!.lastIndexOf('/') + 1) }));
    expect(cert.certificateDescription?.status).toBe('ACTIVE');
  }, 120_000);
});
