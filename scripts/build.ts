/** npm run build: templates/TapStack.yml (build:template), dist/processor-<sha256-12>.zip (build:lambda), then dist/console (build:console). */
import { writeTemplate } from './build-template';
import { buildConsole } from './build-console';
import { bundleProcessor } from './bundle';
import { scriptFlags } from './cli';

/** The three build steps, each printing its line; answers the bundle. */
export async function buildAll(print: (line: string) => void = console.log) {
  print(writeTemplate());
  const bundle = await bundleProcessor();
  print(`dist/${bundle.key}: ${(bundle.bytes / 1024).toFixed(1)} KiB (sha256 ${bundle.sha256})`);
  const { files } = await buildConsole();
  print(`dist/console: ${files.length} files, ${(files.reduce((n, f) => n + f.bytes, 0) / 1024).toFixed(1)} KiB`);
  return bundle;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  scriptFlags('build', {}, 'Writes templates/TapStack.yml (npm run build:template), bundles the processor into dist/processor-<sha256-12>.zip (npm run build:lambda), then builds the console into dist/console (npm run build:console).');
  await buildAll();
}
