import { InvalidArgumentError, type Command } from 'commander';
import { unaryCall } from '@ocireg/grpc';
import type { users } from '@ocireg/proto';

/**
 * `registryctl repository token create|list|revoke <repository-id>`: tokens that
 * belong to a source repository (its Admins manage them), the password of
 * `docker login --username repository-token`.
 */
export function addRepositoryTokenCommands(repository: Command, cli: { authApi(): users.UserServiceClient; as(): { authorization: string }; print(value: unknown): void; maxTokenDays: number }): void {
  const token = repository.command('token').description('repository tokens: pipelines\' credentials that belong to the repository, not to a person');
  token
    .command('create <repository-id>')
    .option('--name <name>', 'what the token is for', 'ci')
    .option('--write', 'push too (read:package,write:package); without it, pull only')
    .option('--expires-in-days <days>', 'lifetime (required; never beyond your own token\'s, capped by the server)', '30')
    .action(async (sourceRepositoryId: string, o: { name: string; write?: boolean; expiresInDays: string }) => {
      const days = Number(o.expiresInDays);
      if (!Number.isFinite(days) || days <= 0 || days > cli.maxTokenDays) throw new InvalidArgumentError(`--expires-in-days must be a number of days from 1 to ${cli.maxTokenDays}`);
      const c = cli.authApi();
      const scopes = o.write ? ['read:package', 'write:package'] : ['read:package'];
      cli.print(await unaryCall(c.createRepositoryToken.bind(c), { sourceRepositoryId, name: o.name, expiresInSeconds: Math.round(days * 86_400), scopes }, cli.as()));
    });
  token.command('list <repository-id>').action(async (sourceRepositoryId: string) => {
    const c = cli.authApi();
    cli.print(await unaryCall(c.listRepositoryTokens.bind(c), { sourceRepositoryId }, cli.as()));
  });
  token.command('revoke <token-id>').description('the token stops working on every gateway within a second').action(async (tokenId: string) => {
    const c = cli.authApi();
    cli.print(await unaryCall(c.revokeToken.bind(c), { tokenId }, cli.as()));
  });
}
