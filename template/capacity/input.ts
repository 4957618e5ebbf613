/** A city's numbers, their defaults and their checks (the flags of `npm run plan`). */
import { PlanInputError } from '../errors';
import { DEFAULT_PARAMETERS as P } from './assumptions';

export { PlanInputError };

export interface PlanInput {
  sensors: number;
  hz: number;
  zones: number;
  /** Share of all sensors in the busiest zone (downtown); never below 1/zones. */
  hotZoneShare: number;
  /** BatchingWindowSeconds: how long the event source mapping gathers records. */
  windowSeconds: number;
  region: string;
  /** Traffic controllers with the console open around the clock (template/capacity/console-costs.ts). */
  controllers: number;
}

export const PLAN_DEFAULTS = {
  zones: 200,
  hotZoneShare: 0.04,
  windowSeconds: P.batchingWindowSeconds,
  region: 'us-east-1',
  controllers: 50,
} as const;

/** Checks a city's numbers, listing every problem with the flag that sets it. */
export function validatePlanInput(input: PlanInput): PlanInput {
  const problems: string[] = [];
  if (!Number.isInteger(input.sensors) || input.sensors < 1) problems.push(`--sensors: got ${input.sensors}, expected a whole number ≥ 1`);
  if (!(input.hz > 0 && input.hz <= 100)) problems.push(`--hz: got ${input.hz}, expected a number above 0 and at most 100`);
  if (!Number.isInteger(input.zones) || input.zones < 1) problems.push(`--zones: got ${input.zones}, expected a whole number ≥ 1`);
  if (!(input.hotZoneShare > 0 && input.hotZoneShare <= 1)) problems.push(`--hot-zone-share: got ${input.hotZoneShare}, expected a fraction above 0 and at most 1`);
  if (!Number.isInteger(input.windowSeconds) || input.windowSeconds < 0 || input.windowSeconds > 300) {
    problems.push(`--window: got ${input.windowSeconds}, expected a whole number of seconds from 0 to 300`);
  }
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(input.region)) problems.push(`--region: got '${input.region}', expected a region such as us-east-1`);
  if (!Number.isInteger(input.controllers) || input.controllers < 0 || input.controllers > 100_000) {
    problems.push(`--controllers: got ${input.controllers}, expected a whole number from 0 to 100000`);
  }
  if (problems.length > 0) throw new PlanInputError(problems.join('\n'));
  return input;
}
