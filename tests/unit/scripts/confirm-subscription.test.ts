import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ConfirmSubscriptionCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { confirmSubscription, parseConfirmationLink } from '../../../scripts/confirm-subscription';

const cfn = mockClient(CloudFormationClient);
const sns = mockClient(SNSClient);
afterEach(() => [cfn, sns].forEach((m) => m.reset()));

const ALERTS = 'arn:aws:sns:eu-west-1:123456789012:tapstack-prod-alerts';
const link = (topicArn: string) =>
  `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topicArn)}&Token=2336412f37fb687f5d51e6e2425f004ae`;
const deps = (lines: string[]) => ({ target: { region: 'eu-west-1' }, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, print: (l: string) => lines.push(l) });

describe('npm run confirm-subscription', () => {
  it('reads the topic and token from the email link, without opening it', () => {
    expect(parseConfirmationLink(link(ALERTS))).toEqual({ topicArn: ALERTS, token: '2336412f37fb687f5d51e6e2425f004ae' });
    expect(() => parseConfirmationLink('https://example.com/?Action=Unsubscribe')).toThrow(/not an SNS confirmation link/);
    expect(() => parseConfirmationLink('not a link')).toThrow(/--url 'not a link' is not a URL/);
  });

  it('confirms with AuthenticateOnUnsubscribe, signed, so that only AWS credentials can unsubscribe', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'tapstack-prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'AlertsTopicArn', OutputValue: ALERTS }, { OutputKey: 'OpsTopicArn', OutputValue: `${ALERTS.replace('alerts', 'ops')}` }] }],
    });
    sns.on(ConfirmSubscriptionCommand).resolves({ SubscriptionArn: `${ALERTS}:1111` });
    const lines: string[] = [];
    await confirmSubscription(['--env', 'prod', '--url', link(ALERTS)], deps(lines));
    expect(sns.commandCalls(ConfirmSubscriptionCommand).map((c) => c.args[0].input)).toEqual([
      { TopicArn: ALERTS, Token: '2336412f37fb687f5d51e6e2425f004ae', AuthenticateOnUnsubscribe: 'true' },
    ]);
    expect(lines.at(-1)).toMatch(/^Subscription .*:1111 confirmed; only the topic owner or the subscriber, with AWS credentials, can unsubscribe it/);
  });

  it("refuses a link for a topic that is not the stack's", async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'tapstack-prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'AlertsTopicArn', OutputValue: ALERTS }, { OutputKey: 'OpsTopicArn', OutputValue: `${ALERTS}-ops` }] }],
    });
    await expect(confirmSubscription(['--env', 'prod', '--url', link('arn:aws:sns:eu-west-1:999999999999:other')], deps([]))).rejects.toThrow(
      /the link is for arn:aws:sns:eu-west-1:999999999999:other, not a topic of tapstack-prod/,
    );
    expect(sns.commandCalls(ConfirmSubscriptionCommand)).toHaveLength(0);
  });
});
