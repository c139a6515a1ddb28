import type { Command } from 'commander';
import { unaryCall } from '@ocireg/grpc';
import type { users } from '@ocireg/proto';

/**
 * `registryctl service-account create|list|delete <workspace> ...` (workspace
 * admins). Roles: `member set <repository-id> <login-name> <role>`; tokens:
 * `token create <login-name>`, the password of `docker login --username <login-name>`.
 */
export function addServiceAccountCommands(program: Command, cli: { authApi(): users.UserServiceClient; as(): { authorization: string }; print(value: unknown): void }): void {
  const account = program.command('service-account').description('service accounts: a workspace\'s non-person users for automation (roles with `member set`, tokens with `token create <login-name>`)');
  account
    .command('create <workspace> <name>')
    .option('--display-name <text>', 'what it is for')
    .action(async (workspaceSlug: string, name: string, o: { displayName?: string }) => {
      const c = cli.authApi();
      cli.print(await unaryCall(c.createServiceAccount.bind(c), { workspaceSlug, name, displayName: o.displayName ?? '' }, cli.as()));
    });
  account.command('list <workspace>').action(async (workspaceSlug: string) => {
    const c = cli.authApi();
    cli.print(await unaryCall(c.listServiceAccounts.bind(c), { workspaceSlug }, cli.as()));
  });
  account
    .command('delete <workspace> <service-account>')
    .description('by id, name or login name; its tokens stop working at once')
    .action(async (workspaceSlug: string, serviceAccount: string) => {
      const c = cli.authApi();
      cli.print(await unaryCall(c.deleteServiceAccount.bind(c), { workspaceSlug, serviceAccount }, cli.as()));
    });
}
