/**
 * simulate() without the console's build: it fails at once, naming the command that builds it,
 * before it starts moto or anything else that could hold the process open (a capacity run once
 * kept its process alive for 20 minutes on a timer started before this error).
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../../../scripts/build-console', () => ({ CONSOLE_DIST: join(tmpdir(), 'tapstack-no-console-build') }));

describe('simulate() without the console build', () => {
  it('throws ConsoleBuildMissingError naming npm run build:console, and owns nothing afterwards', async () => {
    const { simulate } = await import('../../../../scripts/simulate/run');
    const { owned } = await import('../../../../scripts/simulate/owned');
    const before = owned.list();
    const run = simulate({ sensors: 1, hz: 1, zones: 1, durationSeconds: 1, scenario: 'rush-hour' });
    await expect(run).rejects.toMatchObject({ name: 'ConsoleBuildMissingError', message: expect.stringContaining('npm run build:console') });
    expect(owned.list()).toEqual(before);
  });
});
