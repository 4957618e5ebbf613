import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { stateWrite } from '../../handlers/processor/adapters/alert-store';
import { initialState } from '../../handlers/processor/core/alerts';
import { windowOf } from '../../handlers/processor/core/window';
import { windowWrite } from '../../handlers/processor/adapters/window-store';
import { buildTemplate } from '../../template/index';

const resources = buildTemplate().Resources;
type Statement = { Sid: string; Action: string[]; Resource: unknown };
const processorStatements = (resources.ProcessorRole!.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
  (p) => p.PolicyDocument.Statement,
);

/** The IAM action behind each action of a TransactWriteItems (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html). */
const UNDERLYING: Record<string, string> = { Put: 'dynamodb:PutItem', Update: 'dynamodb:UpdateItem', Delete: 'dynamodb:DeleteItem', ConditionCheck: 'dynamodb:ConditionCheckItem' };

/** The action and table of a transactional write, the table named by its logical ID. */
const actionOf = (write: TransactWriteItem) => {
  const [kind, body] = Object.entries(write).find(([, v]) => v !== undefined)! as [string, { TableName: string }];
  return { action: UNDERLYING[kind]!, table: body.TableName };
};

describe('the processor role', () => {
  // moto does not check IAM: this is what stands between a write shape and AccessDenied in AWS.
  it.each([
    ['a window write', windowWrite('ReadingsTable', undefined, windowOf('sensor-1', 0, []), { zoneIndexShards: 10, readingTtlDays: 7, rollupWindowSeconds: 60 }).write],
    ['an alert-state change', stateWrite('AlertStateTable', initialState('sensor-1'), { ...initialState('sensor-1'), version: 1 }, 'zone-1', '2026-12-01T12:00:00Z')],
  ])('allows the underlying action of %s in a TransactWriteItems, on its table', (_, write) => {
    const { action, table } = actionOf(write);
    const granted = processorStatements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [table, 'Arn'] }));
    expect(granted.flatMap((s) => s.Action)).toContain(action);
  });
});
