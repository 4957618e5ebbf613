/**
 * Phase 3, the alert tap: moto cannot deliver to SNS (PutEvents on a bus whose rule targets SNS
 * fails), so the stack's own alert rule gets a local SQS queue as its target instead of the alerts
 * topic, and its health rule (which delivers to the ops topic) another; the simulator reads both.
 */
import { DeleteArchiveCommand, EventBridgeClient, ListArchivesCommand, ListTargetsByRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { PhaseContext } from './context';
import type { SimStack } from './stack';

export interface AlertTap {
  /** The queue the alert rule delivers to. */
  alertQueueUrl: string;
  /** The queue the health rule delivers to (for the ops topic). */
  opsQueueUrl: string;
}

export async function tapAlerts({ environment }: PhaseContext, { aws, view, outputs, clients: { sqs } }: SimStack): Promise<AlertTap> {
  const events = new EventBridgeClient(aws);
  const busName = outputs.EventBusName!;
  /** A local queue as the rule's only target. */
  const retarget = async (rule: string, queueName: string, targetId: string): Promise<string> => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const { Targets } = await events.send(new ListTargetsByRuleCommand({ Rule: rule, EventBusName: busName }));
    if (Targets?.length) await events.send(new RemoveTargetsCommand({ Rule: rule, EventBusName: busName, Ids: Targets.map((t) => t.Id!) }));
    await events.send(new PutTargetsCommand({ Rule: rule, EventBusName: busName, Targets: [{ Id: targetId, Arn: Attributes!.QueueArn! }] }));
    return QueueUrl!;
  };
  const alertQueueUrl = await retarget(view.alertRule.ruleName, `tapstack-${environment}-sim-alerts`, 'local-subscriber');
  // The alert archive (for replays, not emulated here) makes every PutEvents in moto a second or
  // more slower, beyond the processor's call timeout on a busy machine: it is removed locally.
  for (const archive of (await events.send(new ListArchivesCommand({}))).Archives ?? []) {
    if (archive.EventSourceArn?.endsWith(`event-bus/${busName}`)) await events.send(new DeleteArchiveCommand({ ArchiveName: archive.ArchiveName! }));
  }
  // Sensor health: the simulator prints each event of the health rule.
  const opsQueueUrl = await retarget(view.healthRuleName, `tapstack-${environment}-sim-ops`, 'local-ops-subscriber');
  return { alertQueueUrl, opsQueueUrl };
}
