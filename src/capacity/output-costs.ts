/**
 * Where each processor output's AWS charges are in the plan: the cost line (of the defaults'
 * `costs`) whose service starts with `line`, or why it has none. Keyed by every output of
 * handlers/processor/outputs.ts, so a new output does not compile until its cost is placed here
 * (tests/unit/handlers/processor/outputs.test.ts checks that each line is in the plan).
 */
import type { OutputName } from '../../handlers/processor/outputs';

export const OUTPUT_COSTS: Record<OutputName, { line: string } | { none: string }> = {
  readings: { line: 'DynamoDB' },
  // Only readings that fail validation: a few SQS requests a day, under a cent a month.
  quarantine: { none: 'only readings that fail validation (a few SQS requests a day)' },
  alerts: { line: 'EventBridge + SNS' },
  rawData: { line: 'Firehose' },
  status: { line: "Traffic controllers' console" },
};
