/**
 * npm run deploy: the template's URL, the parameters file, and what it does after `aws cloudformation
 * deploy`, where CloudFormation cannot: the sensor policy on the environment's sensor thing group,
 * termination protection on a stack that keeps data.
 */
import { CloudFormationClient, UpdateTerminationProtectionCommand } from '@aws-sdk/client-cloudformation';
import { AttachPolicyCommand, CreateThingGroupCommand, DescribeThingGroupCommand, IoTClient } from '@aws-sdk/client-iot';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CliError } from '../../../scripts/cli';
import { attachSensorPolicy, checkParams, loadParams, protectStack, templateUrl } from '../../../scripts/deploy';

describe('deploy: the template URL', () => {
  it('points CloudFormation at the uploaded template: S3 in the region\'s partition, or path style on an emulator (loopback as localhost)', () => {
    expect(templateUrl({ region: 'eu-west-1' }, 'b', 'templates/x.template')).toBe('https://b.s3.eu-west-1.amazonaws.com/templates/x.template');
    expect(templateUrl({ region: 'cn-north-1' }, 'b', 'k')).toBe('https://b.s3.cn-north-1.amazonaws.com.cn/k');
    expect(templateUrl({ region: 'us-east-1', endpoint: 'http://127.0.0.1:5000' }, 'b', 'k')).toBe('http://localhost:5000/b/k');
    expect(templateUrl({ region: 'us-east-1', endpoint: 'https://emulator.internal:4566/' }, 'b', 'k')).toBe('https://emulator.internal:4566/b/k');
  });
});

describe('deploy: the parameters file', () => {
  it('refuses an EnvironmentSuffix that is not --env, in one line', () => {
    const dev = loadParams('dev');
    expect(() => checkParams('staging', dev, { file: 'params/staging.json', noEmail: false })).toThrow(
      `deploy: --env staging but params/staging.json has EnvironmentSuffix 'dev': set "EnvironmentSuffix": "staging" in the file`,
    );
    const { EnvironmentSuffix: _, ...rest } = dev.Parameters;
    // The template's default suffix is dev.
    expect(() => checkParams('qa', { Parameters: { ...rest, ThrowawayEnvironment: 'true' } }, { file: 'f', noEmail: false })).toThrow("has EnvironmentSuffix 'dev'");
  });

  it('refuses a non-throwaway environment without both emails unless --no-email', () => {
    const prod = loadParams('prod');
    expect(() => checkParams('prod', prod, { file: 'params/prod.json', noEmail: false })).toThrow(CliError);
    expect(() => checkParams('prod', prod, { file: 'params/prod.json', noEmail: false })).toThrow(
      'deploy: prod is not a throwaway environment (ThrowawayEnvironment=false) and NotificationEmail and OpsNotificationEmail are empty in params/prod.json',
    );
    expect(() => checkParams('prod', prod, { file: 'params/prod.json', noEmail: true })).not.toThrow();
    const withOne = { Parameters: { ...prod.Parameters, NotificationEmail: 'traffic@city.example' } };
    expect(() => checkParams('prod', withOne, { file: 'f', noEmail: false })).toThrow('and OpsNotificationEmail is empty in f: set it');
    const both = { Parameters: { ...withOne.Parameters, OpsNotificationEmail: 'ops@city.example' } };
    expect(() => checkParams('prod', both, { file: 'f', noEmail: false })).not.toThrow();
    // dev is throwaway: no email needed.
    expect(() => checkParams('dev', loadParams('dev'), { file: 'params/dev.json', noEmail: false })).not.toThrow();
  });
});

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
