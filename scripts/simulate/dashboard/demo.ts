/**
 * `npm run dashboard:demo -- [--port P] [--host H] [--zones N] [--alert-after S]`: the dashboard fed
 * by the fake simulation (fake.ts), to look at the page without starting the pipeline. Ctrl-C stops it.
 */
import { numberFlag, scriptFlags } from '../../cli';
import { startDashboard } from './index.js';
import { createFakeSimulation } from './fake.js';

const COMMAND = 'dashboard:demo';
const values = scriptFlags(
  COMMAND,
  {
    port: { type: 'string', help: 'port, 0-65535 (default 8080; 0 = any free port)' },
    host: { type: 'string', help: 'address to listen on (default 127.0.0.1)' },
    zones: { type: 'string', help: 'zones, 1-100 (default 16)' },
    'alert-after': { type: 'string', help: 'seconds before the scripted alert (default 4)' },
  },
  "The simulator's dashboard fed by fake, moving data, to look at the page alone. Ctrl-C stops it.",
);

const snapshot = createFakeSimulation({
  zones: numberFlag(COMMAND, 'zones', values.zones, 16, { min: 1, max: 100, integer: true }),
  alertAfterMs: numberFlag(COMMAND, 'alert-after', values['alert-after'], 4) * 1000,
});
const dashboard = await startDashboard({ port: numberFlag(COMMAND, 'port', values.port, 8080, { max: 65_535, integer: true }), host: values.host ?? '127.0.0.1', snapshot });
console.log(`Dashboard (fake data): ${dashboard.url}  (Ctrl-C to stop)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void dashboard.close().then(() => process.exit(0));
  });
}
