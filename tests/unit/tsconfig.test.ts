import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/paths';

/** Whether a folder holds a TypeScript file anywhere below it. */
const holdsTypeScript = (dir: string): boolean =>
  readdirSync(dir, { withFileTypes: true }).some((e) =>
    e.isDirectory() ? holdsTypeScript(join(dir, e.name)) : /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts'),
  );

describe('tsconfig.json', () => {
  it('includes every top-level folder that holds TypeScript, so npm run typecheck checks each module on its own', () => {
    const include = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] }).include;
    const folders = readdirSync(ROOT, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !['node_modules', 'dist'].includes(e.name))
      .map((e) => e.name)
      .filter((name) => holdsTypeScript(join(ROOT, name)));
    expect(folders).toContain('contract');
    for (const folder of folders) expect(include, folder).toContain(folder);
  });
});
