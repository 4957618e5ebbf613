/**
 * `npm run dashboard:demo -- [--port P] [--host H] [--zones N] [--alert-after S]`: the dashboard fed
 * by the fake simulation (fake.ts), to look at the page without starting the pipeline. Ctrl-C stops it.
 */
import { parseArgs } from 'node:util';
import { startDashboard } from './index.js';
import { createFakeSimulation } from './fake.js';

function numberFlag(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`--${name}: got "${raw}", expected a number`);
  return value;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    zones: { type: 'string' },
    'alert-after': { type: 'string' },
  },
});

const snapshot = createFakeSimulation({
  zones: numberFlag('zones', values.zones, 16),
  alertAfterMs: numberFlag('alert-after', values['alert-after'], 4) * 1000,
});
const dashboard = await startDashboard({ port: numberFlag('port', values.port, 8080), host: values.host, snapshot });
console.log(`Dashboard (fake data): ${dashboard.url}  (Ctrl-C to stop)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void dashboard.close().then(() => process.exit(0));
  });
}
