/**
 * npm run plan -- --sensors N --hz R [--zones Z] [--hot-zone-share S] [--window SECONDS] [--region REGION] [--controllers N] [--json]
 * Capacity, quotas and monthly cost for a city (the model is template/capacity/).
 */
import { PLAN_DEFAULTS, plan, planMarkdown, type PlanInput } from '../template/capacity';
import { assertKnownRegion } from './aws';
import { numberFlag, parseFlags, runMain } from './cli';

export function planInputFromArgv(argv: string[]): { input: PlanInput; json: boolean } {
  const flags = parseFlags('plan', argv, {
    sensors: { type: 'string', help: 'number of sensors', required: true },
    hz: { type: 'string', help: 'readings per second per sensor', required: true },
    zones: { type: 'string', help: `number of zones, default ${PLAN_DEFAULTS.zones}` },
    'hot-zone-share': { type: 'string', help: `share of sensors in the busiest zone, default ${PLAN_DEFAULTS.hotZoneShare}` },
    window: { type: 'string', help: `batching window in seconds (0-300), default ${PLAN_DEFAULTS.windowSeconds}` },
    region: { type: 'string', help: `AWS region, default ${PLAN_DEFAULTS.region}` },
    controllers: { type: 'string', help: `traffic controllers with the console open, default ${PLAN_DEFAULTS.controllers}` },
    json: { type: 'boolean', help: 'print JSON' },
  });
  if (flags.region !== undefined) assertKnownRegion(flags.region, '--region');
  return {
    input: {
      sensors: numberFlag('plan', 'sensors', flags.sensors, 0),
      hz: numberFlag('plan', 'hz', flags.hz, 0),
      zones: numberFlag('plan', 'zones', flags.zones, PLAN_DEFAULTS.zones),
      hotZoneShare: numberFlag('plan', 'hot-zone-share', flags['hot-zone-share'], PLAN_DEFAULTS.hotZoneShare),
      windowSeconds: numberFlag('plan', 'window', flags.window, PLAN_DEFAULTS.windowSeconds),
      region: flags.region ?? PLAN_DEFAULTS.region,
      controllers: numberFlag('plan', 'controllers', flags.controllers, PLAN_DEFAULTS.controllers, { integer: true }),
    },
    json: flags.json === true,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain('plan', async () => {
    const { input, json } = planInputFromArgv(process.argv.slice(2));
    const result = plan(input);
    console.log(json ? JSON.stringify(result, null, 2) : planMarkdown(result));
  });
}
