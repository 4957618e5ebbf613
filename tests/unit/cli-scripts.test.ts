/**
 * Every npm script that runs one of our scripts, as a user runs it (npm run <script> -- …): --help
 * and -h print the usage and exit 0 without doing any work (no file written, nothing built), and
 * an error with several problems prints every one of them, the flag at fault named.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorText, UsageError } from '../../scripts/cli';
import { ROOT } from '../../scripts/lib/paths';

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('npm', ['run', '--silent', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
/** The npm scripts that run a script of ours (the others are tsc, vitest and cfn-lint, with their own --help). */
const ours = Object.entries(scripts)
  .filter(([, command]) => command.startsWith('tsx scripts/'))
  .map(([name]) => name);

/** Files a script run by mistake would write: their modification times must not move. */
const WATCHED = ['templates/TapStack.yml', 'docs/parameters.md', 'docs/capacity.md', 'README.md', 'docs/operations.md'];
const mtimes = () => WATCHED.map((f) => statSync(join(ROOT, f)).mtimeMs);

describe('every npm script of ours takes --help and -h', () => {
  it('covers the scripts a user meets first', () => {
    expect(ours).toEqual(expect.arrayContaining(['build', 'build:template', 'build:lambda', 'start', 'simulate', 'dashboard:demo', 'bench', 'docs', 'deploy', 'provision', 'plan']));
  });

  it.concurrent.each(ours)('npm run %s -- --help / -h: usage on stdout, exit 0, no work done', async (name) => {
    const before = mtimes();
    for (const flag of ['--help', '-h']) {
      const result = await run([name, '--', flag]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^Usage: npm run \S+/);
      expect(result.stdout).toContain('--help, -h');
      expect(result.stderr).toBe('');
    }
    expect(mtimes()).toEqual(before);
  }, 60_000);
});

describe('errors that say everything', () => {
  const work = mkdtempSync(join(tmpdir(), 'tapstack-cli-scripts-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('prints every line of an error with several problems, the first prefixed by the command', () => {
    expect(errorText('provision', new UsageError('3 problems:\na\nb\nc'))).toBe('provision: 3 problems:\n  a\n  b\n  c');
    expect(errorText('redrive', new Error('boom'))).toBe('redrive: Error: boom');
  });

  it('says what an answer that is not an AWS answer was, instead of the SDK parser error', () => {
    const error = Object.assign(new Error('@aws-sdk XML parse error: unexpected content.\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.'), {
      $response: { statusCode: 404, body: '{"__type": "ResourceNotFoundException", "message": "The specified resource does not exist"}' },
    });
    expect(errorText('teardown', error)).toBe(
      'teardown: AWS call failed: the service answered HTTP 404 with a body that is not an AWS answer ({"__type": "ResourceNotFoundException", "message": "The specified resource does not exist"})',
    );
  });

  it('npm run provision: one line per bad CSV row, nothing registered', async () => {
    const csv = join(work, 'sensors.csv');
    writeFileSync(csv, 'sensor_id,zone_id,lat,lon\ns-1,downtown,91,4.89\ns-2,uptown,52,4\ns-1,downtown,52,4\n');
    const zones = join(work, 'zones.csv');
    writeFileSync(zones, 'zone_id\ndowntown\n');
    const result = await run(['provision', '--', '--env', 'dev', '--csv', csv, '--zones', zones, '--dry-run', '--out', join(work, 'out')], {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^provision: CsvInputError: 3 problem\(s\); nothing was registered:$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/sensors\.csv row 2: lat '91'/),
      expect.stringMatching(/sensors\.csv row 3: zone_id 'uptown'/),
      expect.stringMatching(/sensors\.csv row 4: sensor_id 's-1'/),
    ]);
  }, 60_000);

  it('npm run deploy --params nope.json blames --params, not --env', async () => {
    const result = await run(['deploy', '--', '--env', 'dev', '--bucket', 'b-1', '--params', 'nope.json']);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe('deploy: --params nope.json does not exist; give a parameters file (params/ has dev.json, prod.json)');
  }, 60_000);

  it('npm run deploy --region us-east-9 names the flag and the regions allowed, before any call', async () => {
    const result = await run(['deploy', '--', '--env', 'dev', '--bucket', 'b-1', '--region', 'us-east-9'], { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toMatch(/^deploy: --region 'us-east-9' is not an AWS region the SDK knows; allowed: us-east-1, us-east-2, .*eu-central-1/);
  }, 60_000);
});
