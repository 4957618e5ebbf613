/**
 * npm run confirm-subscription -- --env E --url '<the "Confirm subscription" link of the email>'
 *
 * Confirms an email subscription of the stack's alerts or ops topic so that only an AWS-authenticated
 * caller (the topic owner or the subscription owner) can unsubscribe it: ConfirmSubscription with
 * AuthenticateOnUnsubscribe=true, signed with the operator's credentials
 * (https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html). Confirmed by clicking
 * the link instead, the subscription can be ended by anyone holding any alert email forwarded from
 * it (its unsubscribe link needs no credentials). The link is not opened: only its TopicArn and
 * Token are read, and the topic must be one of this stack's.
 */
import { ConfirmSubscriptionCommand, SNSClient } from '@aws-sdk/client-sns';
import { parseFlags, runMain, UsageError } from './cli';
import { opsContext, STACK_FLAGS, type OpsDeps } from './lib/ops';

export const CONFIRM_FLAGS = {
  ...STACK_FLAGS,
  url: { type: 'string', help: 'the "Confirm subscription" link of the email SNS sent (quote it: it holds &)', required: true },
} as const;

/** The topic and token of an SNS confirmation link (…?Action=ConfirmSubscription&TopicArn=…&Token=…). */
export function parseConfirmationLink(link: string): { topicArn: string; token: string } {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new UsageError(`confirm-subscription: --url '${link.slice(0, 80)}' is not a URL; allowed: the "Confirm subscription" link of the email`);
  }
  const topicArn = url.searchParams.get('TopicArn');
  const token = url.searchParams.get('Token');
  if (url.searchParams.get('Action') !== 'ConfirmSubscription' || !topicArn || !token) {
    throw new UsageError('confirm-subscription: --url is not an SNS confirmation link; allowed: a link with Action=ConfirmSubscription, TopicArn and Token');
  }
  return { topicArn, token };
}

export async function confirmSubscription(argv: string[], deps: OpsDeps = {}): Promise<string> {
  const flags = parseFlags('confirm-subscription', argv, CONFIRM_FLAGS, 'Confirms an email subscription so that only AWS credentials can unsubscribe it.');
  const { topicArn, token } = parseConfirmationLink(flags.url!);
  const ctx = await opsContext('confirm-subscription', flags, ['AlertsTopicArn', 'OpsTopicArn'], deps);
  const topics = [ctx.outputs.AlertsTopicArn, ctx.outputs.OpsTopicArn];
  if (!topics.includes(topicArn)) {
    throw new UsageError(`confirm-subscription: the link is for ${topicArn}, not a topic of ${ctx.stackName} (${topics.join(', ')})`);
  }
  const out = await new SNSClient(ctx.config).send(new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: token, AuthenticateOnUnsubscribe: 'true' }));
  const line = `Subscription ${out.SubscriptionArn} confirmed; only the topic owner or the subscriber, with AWS credentials, can unsubscribe it (the email's unsubscribe link no longer can)`;
  ctx.print(line);
  return out.SubscriptionArn!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain('confirm-subscription', async () => {
    await confirmSubscription(process.argv.slice(2));
  });
}
