/**
 * Where each processor output's AWS charges are in the plan: the cost line (of the defaults'
 * `costs`) whose service starts with `line`, or why it has none. Each output declares its own
 * (`cost` in contract/outputs.ts), so a new output does not compile without it;
 * tests/template/outputs.test.ts checks that each line is in the plan.
 */
import { PROCESSOR_OUTPUTS, type OutputName } from '../../contract';

export const OUTPUT_COSTS = Object.fromEntries(Object.entries(PROCESSOR_OUTPUTS).map(([name, output]) => [name, output.cost])) as {
  readonly [K in OutputName]: (typeof PROCESSOR_OUTPUTS)[K]['cost'];
};
