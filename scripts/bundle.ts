/**
 * npm run build:lambda → dist/processor-<first 12 hex of sha256>.zip
 * esbuild: ESM, minified, source map, target node24 (the Lambda runtime), AWS SDK bundled so the
 * code runs on exactly the versions it was tested with. The zip is deterministic (fixed dates),
 * so its hash names its content.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { zipSync } from 'fflate';
import { DIST, ROOT } from './lib/paths';
import { scriptFlags } from './cli';

const ZIP_DATE = new Date('2000-01-01T00:00:00Z');

export interface Bundle {
  zipPath: string;
  key: string;
  bytes: number;
  sha256: string;
}

/** Builds dist/processor-<sha256-12>.zip (removing older bundles) and answers where and how big it is. */
export async function bundleProcessor(): Promise<Bundle> {
  const result = await build({
    entryPoints: [join(ROOT, 'handlers/processor/index.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: true,
    sourcemap: 'external',
    sourcesContent: false,
    legalComments: 'none',
    write: false,
    outfile: 'index.mjs',
    // Some AWS SDK dependencies still call require(): give ESM a require.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: 'warning',
  });
  const files: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const file of result.outputFiles) {
    const name = file.path.endsWith('.map') ? 'index.mjs.map' : 'index.mjs';
    files[name] = [file.contents, { mtime: ZIP_DATE }];
  }
  const zip = zipSync(files, { level: 9 });
  const sha256 = createHash('sha256').update(zip).digest('hex');
  const key = `processor-${sha256.slice(0, 12)}.zip`;
  mkdirSync(DIST, { recursive: true });
  for (const old of readdirSync(DIST).filter((f) => /^processor-[0-9a-f]{12}\.zip$/.test(f) && f !== key)) {
    rmSync(join(DIST, old));
  }
  const zipPath = join(DIST, key);
  // Written whole then renamed, so a concurrent reader (tests run in parallel) never sees half a zip.
  const partial = `${zipPath}.${process.pid}.partial`;
  writeFileSync(partial, zip);
  renameSync(partial, zipPath);
  return { zipPath, key, bytes: zip.byteLength, sha256 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  scriptFlags('build:lambda', {}, 'Bundles the processor (esbuild) into dist/processor-<sha256-12>.zip and prints its size.');
  const bundle = await bundleProcessor();
  console.log(`dist/${bundle.key}: ${(bundle.bytes / 1024).toFixed(1)} KiB (sha256 ${bundle.sha256})`);
}
