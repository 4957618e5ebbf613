/**
 * npm run users -- add    --env E --user NAME --email ADDRESS --group controllers|supervisors
 * npm run users -- remove --env E --user NAME [--yes]
 * npm run users -- list   --env E
 * The console's users, in the stack's Cognito user pool (output ConsoleUserPoolId): nobody signs
 * themselves up; an administrator adds each controller, who gets an email with a temporary
 * password to change at the first sign-in (and, with ConsoleMfa=ON, sets up an authenticator app).
 * Cognito API: AdminCreateUser, AdminAddUserToGroup, AdminDeleteUser, ListUsers, AdminListGroupsForUser
 * (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html).
 */
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminListGroupsForUserCommand,
  CognitoIdentityProviderClient,
  ListUsersCommand,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import { CONSOLE_GROUPS, type ConsoleGroup } from '../contract';
import { DeployError } from './aws';
import { parseFlags, runMain, UsageError } from './cli';
import { terminalConfirm } from './lib/confirm';
import { opsContext, STACK_FLAGS, type OpsDeps } from './lib/ops';

const COMMAND = 'users';
export const USER_ACTIONS = ['add', 'remove', 'list'] as const;
export type UserAction = (typeof USER_ACTIONS)[number];

export const USERS_FLAGS = {
  ...STACK_FLAGS,
  user: { type: 'string', help: 'user name (what the console records as who acknowledged an alert)' },
  email: { type: 'string', help: 'where Cognito sends the temporary password (add)' },
  group: { type: 'string', help: `${CONSOLE_GROUPS.join(' | ')} (add)` },
  yes: { type: 'boolean', help: 'remove without asking' },
} as const;

/** User names: letters, digits and . _ - @ (Cognito allows more; a console name should read well in an alert). */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export interface ConsoleUser {
  username: string;
  email: string;
  status: string;
  enabled: boolean;
  groups: string[];
  createdAt: string;
}

export async function addUser(cognito: CognitoIdentityProviderClient, poolId: string, user: { username: string; email: string; group: ConsoleGroup }): Promise<void> {
  try {
    await cognito.send(
      new AdminCreateUserCommand({
        UserPoolId: poolId,
        Username: user.username,
        UserAttributes: [
          { Name: 'email', Value: user.email },
          // The administrator vouches for the address: the invitation and password resets go there.
          { Name: 'email_verified', Value: 'true' },
        ],
        DesiredDeliveryMediums: ['EMAIL'],
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'UsernameExistsException') {
      throw new DeployError(`${COMMAND}: user ${user.username} exists already (npm run users -- list shows them; remove it first to start over)`, { cause: error });
    }
    throw error;
  }
  await cognito.send(new AdminAddUserToGroupCommand({ UserPoolId: poolId, Username: user.username, GroupName: user.group }));
}

export async function removeUser(cognito: CognitoIdentityProviderClient, poolId: string, username: string): Promise<void> {
  try {
    await cognito.send(new AdminDeleteUserCommand({ UserPoolId: poolId, Username: username }));
  } catch (error) {
    if ((error as { name?: string }).name === 'UserNotFoundException') throw new DeployError(`${COMMAND}: no user ${username} in the console's user pool`, { cause: error });
    throw error;
  }
}

export async function listUsers(cognito: CognitoIdentityProviderClient, poolId: string): Promise<ConsoleUser[]> {
  const users: UserType[] = [];
  let token: string | undefined;
  do {
    const out = await cognito.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token, Limit: 60 }));
    users.push(...(out.Users ?? []));
    token = out.PaginationToken;
  } while (token);
  const listed: ConsoleUser[] = [];
  for (const u of users) {
    const groups = (await cognito.send(new AdminListGroupsForUserCommand({ UserPoolId: poolId, Username: u.Username! }))).Groups ?? [];
    listed.push({
      username: u.Username!,
      email: u.Attributes?.find((a) => a.Name === 'email')?.Value ?? '',
      status: u.UserStatus ?? '',
      enabled: u.Enabled !== false,
      groups: groups.map((g) => g.GroupName!).sort(),
      createdAt: u.UserCreateDate ? new Date(u.UserCreateDate).toISOString() : '',
    });
  }
  return listed.sort((a, b) => a.username.localeCompare(b.username));
}

/** The action and the flags, checked: one clear error naming what is wrong and what is allowed. */
export function parseUsersArgs(argv: string[]): { action: UserAction; flags: ReturnType<typeof parseFlags<typeof USERS_FLAGS>> } {
  const [action, ...rest] = argv;
  if (argv.includes('--help') || argv.includes('-h')) parseFlags(COMMAND, ['--help'], USERS_FLAGS, 'Adds, removes or lists the users of the console (the stack\'s Cognito user pool). Usage: npm run users -- add|remove|list --env E ...');
  if (!action || !(USER_ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(`${COMMAND}: the first argument is what to do: ${USER_ACTIONS.join(', ')} (got ${action === undefined ? 'nothing' : `'${action}'`})`);
  }
  const flags = parseFlags(COMMAND, rest, USERS_FLAGS);
  if (action !== 'list') {
    if (!flags.user) throw new UsageError(`${COMMAND}: ${action} needs --user <name>`);
    if (!USERNAME_PATTERN.test(flags.user)) throw new UsageError(`${COMMAND}: --user '${flags.user}' must be 1-64 of A-Z a-z 0-9 . _ - @, starting with a letter or digit`);
  }
  if (action === 'add') {
    if (!flags.email || !EMAIL_PATTERN.test(flags.email)) throw new UsageError(`${COMMAND}: add needs --email <address> (where the temporary password goes), got '${flags.email ?? ''}'`);
    if (!flags.group || !(CONSOLE_GROUPS as readonly string[]).includes(flags.group)) {
      throw new UsageError(`${COMMAND}: add needs --group ${CONSOLE_GROUPS.join(' or ')}, got '${flags.group ?? ''}'`);
    }
  }
  return { action: action as UserAction, flags };
}

export async function users(argv: string[], deps: OpsDeps = {}): Promise<ConsoleUser[] | void> {
  const { action, flags } = parseUsersArgs(argv);
  const ctx = await opsContext(COMMAND, flags, ['ConsoleUserPoolId'], deps);
  const cognito = new CognitoIdentityProviderClient(ctx.config);
  const poolId = ctx.outputs.ConsoleUserPoolId!;
  switch (action) {
    case 'add':
      await addUser(cognito, poolId, { username: flags.user!, email: flags.email!, group: flags.group as ConsoleGroup });
      ctx.print(`Added ${flags.user} (${flags.group}) to ${poolId}: Cognito emails ${flags.email} a temporary password; the console asks for a new one at the first sign-in (${ctx.outputs.ConsoleUrl ?? 'ConsoleUrl'})`);
      return;
    case 'remove': {
      const confirm = deps.confirm ?? terminalConfirm(COMMAND, flags.yes === true);
      if (!(await confirm(`Remove ${flags.user} from the console's users (${poolId})?`))) {
        ctx.print('Nothing removed');
        return;
      }
      await removeUser(cognito, poolId, flags.user!);
      ctx.print(`Removed ${flags.user}: their refresh token no longer works; an access token already issued lasts until it expires (at most an hour)`);
      return;
    }
    case 'list': {
      const listed = await listUsers(cognito, poolId);
      ctx.print(`${listed.length} user(s) of the console (${poolId}):`);
      for (const u of listed) ctx.print(`  ${u.username.padEnd(24)} ${u.groups.join(',').padEnd(24)} ${u.status.padEnd(22)} ${u.enabled ? '' : 'DISABLED '}${u.email}`);
      return listed;
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain(COMMAND, async () => {
    await users(process.argv.slice(2));
  });
}
