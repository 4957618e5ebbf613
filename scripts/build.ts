/** npm run build: templates/TapStack.yml (build:template), then dist/processor-<sha256-12>.zip (build:lambda). */
import { writeTemplate } from './build-template';
import { bundleProcessor } from './bundle';
import { scriptFlags } from './cli';

/** Both build steps, each printing its line; answers the bundle. */
export async function buildAll(print: (line: string) => void = console.log) {
  print(writeTemplate());
  const bundle = await bundleProcessor();
  print(`dist/${bundle.key}: ${(bundle.bytes / 1024).toFixed(1)} KiB (sha256 ${bundle.sha256})`);
  return bundle;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  scriptFlags('build', {}, 'Writes templates/TapStack.yml (npm run build:template), then bundles the processor into dist/processor-<sha256-12>.zip (npm run build:lambda).');
  await buildAll();
}
