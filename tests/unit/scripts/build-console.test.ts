import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, type ConsoleBuild } from '../../../scripts/build-console';

describe('the console build', () => {
  let build: ConsoleBuild;
  beforeAll(async () => {
    build = await buildConsole(mkdtempSync(join(tmpdir(), 'tapstack-console-')));
  });

  it('builds one page that names its content-hashed script and stylesheet', () => {
    const paths = build.files.map((f) => f.path);
    expect(paths).toContain('index.html');
    expect(paths.some((p) => /^assets\/app-[A-Z0-9]{8}\.js$/.test(p))).toBe(true);
    expect(paths.some((p) => /^assets\/app-[A-Z0-9]{8}\.css$/.test(p))).toBe(true);
  });
});
