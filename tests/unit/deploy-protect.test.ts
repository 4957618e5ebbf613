/**
 * What npm run deploy does after `aws cloudformation deploy`, where CloudFormation cannot: the sensor
 * policy on the environment's sensor thing group, termination protection on a stack that keeps data.
 */
import { CloudFormationClient, UpdateTerminationProtectionCommand } from '@aws-sdk/client-cloudformation';
import { AttachPolicyCommand, CreateThingGroupCommand, DescribeThingGroupCommand, IoTClient } from '@aws-sdk/client-iot';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { attachSensorPolicy, protectStack } from '../../scripts/deploy';

const iot = mockClient(IoTClient);
const cfn = mockClient(CloudFormationClient);
afterEach(() => [iot, cfn].forEach((m) => m.reset()));

describe('npm run deploy, after the change set', () => {
  it("attaches the environment's sensor policy to its sensor thing group, by the template's names", async () => {
    iot.on(DescribeThingGroupCommand).resolves({ thingGroupArn: 'arn:aws:iot:eu-west-1:123456789012:thinggroup/tapstack-prod-sensors' });
    iot.on(AttachPolicyCommand).resolves({});
    const printed: string[] = [];
    await attachSensorPolicy(new IoTClient({}), { EnvironmentSuffix: 'prod' }, (l) => printed.push(l));
    expect(iot.commandCalls(DescribeThingGroupCommand)[0]!.args[0].input).toEqual({ thingGroupName: 'tapstack-prod-sensors' });
    expect(iot.commandCalls(AttachPolicyCommand).map((c) => c.args[0].input)).toEqual([
      { policyName: 'tapstack-prod-sensor', target: 'arn:aws:iot:eu-west-1:123456789012:thinggroup/tapstack-prod-sensors' },
    ]);
    expect(iot.commandCalls(CreateThingGroupCommand)).toHaveLength(0);
    expect(printed).toEqual(['IoT policy tapstack-prod-sensor attached to thing group tapstack-prod-sensors: the sensors of this environment (and only they) may connect']);
  });

  it('turns termination protection on for a stack that keeps data, and leaves a throwaway one deletable', async () => {
    cfn.on(UpdateTerminationProtectionCommand).resolves({});
    await protectStack(new CloudFormationClient({}), 'tapstack-dev', true, () => undefined);
    expect(cfn.commandCalls(UpdateTerminationProtectionCommand)).toHaveLength(0);
    await protectStack(new CloudFormationClient({}), 'tapstack-prod', false, () => undefined);
    expect(cfn.commandCalls(UpdateTerminationProtectionCommand).map((c) => c.args[0].input)).toEqual([{ StackName: 'tapstack-prod', EnableTerminationProtection: true }]);
  });
});
