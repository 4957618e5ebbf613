import { describe, expect, it } from 'vitest';
import { CliError } from '../../../scripts/cli';
import { checkParams, loadParams, templateUrl } from '../../../scripts/deploy';

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
