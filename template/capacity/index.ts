/**
 * The capacity, quota and cost model of a city's deployment (`npm run plan`, docs/capacity.md).
 * Pure: a function of the city's numbers and the stack's design constants. By phase:
 * aws-figures.ts (AWS's limits and prices, each with its page), assumptions.ts (the model's),
 * input.ts (a city's numbers and their checks), sizing.ts (load, shards, lanes, DynamoDB capacity),
 * quotas.ts (the quota checks), designs.ts (three designs and the bill of each), output-costs.ts
 * (the cost line of each processor output), console-costs.ts (the traffic controllers' console),
 * plan.ts (all of it for a city) and markdown.ts (its rendering).
 */
export { ASSUMPTIONS } from './assumptions';
export { AWS } from './aws-figures';
export { CONSOLE_ASSUMPTIONS, CONSOLE_PRICES, consoleCosts, type ConsoleCostInput, type ConsoleCostLine } from './console-costs';
export { DESIGNS, type CostLine, type Design, type DesignCost } from './designs';
export { PLAN_DEFAULTS, PlanInputError, validatePlanInput, type PlanInput } from './input';
export { planMarkdown } from './markdown';
export { OUTPUT_COSTS } from './output-costs';
export { plan, type Exceeded, type Plan } from './plan';
export type { QuotaCheck } from './quotas';
export type { Load } from './sizing';
