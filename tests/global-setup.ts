/**
 * Once, before any test file: the console's page is built into dist/console, where `npm start`
 * (scripts/simulate/local-console.ts) serves it from. Every test that starts the local pipeline
 * (the simulator's, the console's, the terminal's) needs it, and a clean clone has no dist/; built
 * here once rather than by each file, since a build replaces the directory another file may be
 * serving from at the same time.
 */
import { buildConsole } from '../scripts/build-console';

export default async function setup(): Promise<void> {
  await buildConsole();
}
