/**
 * npm run build:console → dist/console: the controllers' console, one page and its assets.
 * esbuild bundles console/src/app.js with its styles and libraries (oidc-client-ts, Leaflet) into content-hashed files under assets/ (cached for a year wherever they are served);
 * index.html names them and is never cached. `npm start` serves this folder, `npm run deploy`
 * uploads it to the console bucket.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { build } from 'esbuild';
import { scriptFlags } from './cli';
import { DIST, ROOT } from './lib/paths';

export const CONSOLE_SOURCE = join(ROOT, 'console');
export const CONSOLE_DIST = join(DIST, 'console');

export interface ConsoleBuild {
  dir: string;
  /** Every file, relative to `dir`, with its size. */
  files: { path: string; bytes: number }[];
}

export async function buildConsole(outDir: string = CONSOLE_DIST): Promise<ConsoleBuild> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(CONSOLE_SOURCE, 'src', 'app.js')],
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    minify: true,
    outdir: outDir,
    entryNames: 'assets/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    loader: { '.png': 'file', '.svg': 'file' },
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => relative(outDir, join(ROOT, p)));
  const js = outputs.find((p) => p.endsWith('.js') && basename(p).startsWith('app-'));
  const css = outputs.find((p) => p.endsWith('.css') && basename(p).startsWith('app-'));
  if (!js || !css) throw new Error(`build:console: esbuild produced no app script or stylesheet (${outputs.join(', ')})`);
  const html = readFileSync(join(CONSOLE_SOURCE, 'index.html'), 'utf8').replace('%APP_JS%', `/${js}`).replace('%APP_CSS%', `/${css}`);
  writeFileSync(join(outDir, 'index.html'), html);
  const files = ['index.html', ...outputs].map((path) => ({ path, bytes: readFileSync(join(outDir, path)).byteLength }));
  return { dir: outDir, files };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  scriptFlags('build:console', {}, "Builds the traffic controllers' console (console/) into dist/console: content-hashed assets and the index.html naming them.");
  const started = performance.now();
  const { files } = await buildConsole();
  const total = files.reduce((n, f) => n + f.bytes, 0);
  console.log(`dist/console: ${files.length} files, ${(total / 1024).toFixed(1)} KiB, built in ${Math.round(performance.now() - started)} ms`);
  for (const f of files) console.log(`  ${f.path} ${(f.bytes / 1024).toFixed(1)} KiB`);
}
