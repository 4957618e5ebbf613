/**
 * npm run users against moto's Cognito: the pool as the template makes it (admin-created users
 * only, the console's groups), its id from the stack's ConsoleUserPoolId output.
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CognitoIdentityProviderClient, CreateGroupCommand, CreateUserPoolCommand } from '@aws-sdk/client-cognito-identity-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_GROUPS } from '../../contract';
import { users } from '../../scripts/users';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';

describe('npm run users (moto)', () => {
  let moto: Moto;
  let lines: string[] = [];
  const deps = () => ({ target: { region: 'us-east-1', endpoint: moto.endpoint }, credentials: motoClientConfig(moto.endpoint).credentials, print: (l: string) => lines.push(l) });

  beforeAll(async () => {
    moto = await startMoto();
    const config = motoClientConfig(moto.endpoint);
    const cognito = new CognitoIdentityProviderClient(config);
    const pool = await cognito.send(new CreateUserPoolCommand({ PoolName: 'tapstack-ut-console-users', AdminCreateUserConfig: { AllowAdminCreateUserOnly: true } }));
    const poolId = pool.UserPool!.Id!;
    for (const group of CONSOLE_GROUPS) await cognito.send(new CreateGroupCommand({ UserPoolId: poolId, GroupName: group }));
    // A stack whose only business here is its output, as the console's stack reports it.
    await new CloudFormationClient(config).send(
      new CreateStackCommand({
        StackName: 'tapstack-ut',
        TemplateBody: JSON.stringify({ Resources: { Nothing: { Type: 'AWS::CloudFormation::WaitConditionHandle' } }, Outputs: { ConsoleUserPoolId: { Value: poolId }, ConsoleUrl: { Value: 'https://console.example/' } } }),
      }),
    );
  });
  afterAll(async () => moto?.stop());

  it('adds a controller in its group, lists it, refuses it twice, then removes it', async () => {
    await users(['add', '--env', 'ut', '--user', 'alice.martin', '--email', 'alice@city.example', '--group', 'controllers'], deps());
    expect(lines.at(-1)).toMatch(/Added alice\.martin \(controllers\).*temporary password.*https:\/\/console\.example\//);
    const listed = (await users(['list', '--env', 'ut'], deps())) as { username: string; groups: string[]; email: string; status: string }[];
    expect(listed).toEqual([expect.objectContaining({ username: 'alice.martin', groups: ['controllers'], email: 'alice@city.example', status: 'FORCE_CHANGE_PASSWORD' })]);
    await expect(users(['add', '--env', 'ut', '--user', 'alice.martin', '--email', 'alice@city.example', '--group', 'supervisors'], deps())).rejects.toThrow(/exists already/);
    await expect(users(['remove', '--env', 'ut', '--user', 'alice.martin'], { ...deps(), confirm: async () => false })).resolves.toBeUndefined();
    expect(lines.at(-1)).toBe('Nothing removed');
    await users(['remove', '--env', 'ut', '--user', 'alice.martin', '--yes'], deps());
    await expect(users(['list', '--env', 'ut'], deps())).resolves.toEqual([]);
    await expect(users(['remove', '--env', 'ut', '--user', 'nobody', '--yes'], deps())).rejects.toThrow(/no user nobody/);
  });

  it('names what is wrong with the arguments before touching anything', async () => {
    await expect(users([], deps())).rejects.toThrow(/first argument is what to do: add, remove, list/);
    await expect(users(['invite', '--env', 'ut'], deps())).rejects.toThrow(/got 'invite'/);
    await expect(users(['add', '--env', 'ut', '--user', 'bob', '--email', 'bob@city.example', '--group', 'admins'], deps())).rejects.toThrow(/--group controllers or supervisors, got 'admins'/);
    await expect(users(['add', '--env', 'ut', '--user', 'bob', '--group', 'controllers'], deps())).rejects.toThrow(/--email/);
    await expect(users(['add', '--env', 'ut', '--user', '<bob>', '--email', 'bob@city.example', '--group', 'controllers'], deps())).rejects.toThrow(/--user '<bob>' must be/);
    await expect(users(['remove', '--env', 'ut'], deps())).rejects.toThrow(/remove needs --user/);
  });
});
