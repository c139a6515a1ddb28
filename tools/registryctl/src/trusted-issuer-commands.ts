import { InvalidArgumentError, type Command } from 'commander';
import { unaryCall } from '@ocireg/grpc';
import type { users } from '@ocireg/proto';

/** "<claim value>=<project>/<repository>[+<project>/<repository>...]": the first repository is pushed to, the others pulled from. */
function mapping(value: string, previous: users.ClaimMapping[] = []): users.ClaimMapping[] {
  const at = value.lastIndexOf('=');
  const [sourceRepository = '', ...pulls] = at > 0 ? value.slice(at + 1).split('+') : [];
  if (at <= 0 || !sourceRepository) throw new InvalidArgumentError('expected <claim value>=<project>/<repository>[+<project>/<repository to pull>...]');
  return [...previous, { claimValue: value.slice(0, at), sourceRepository, sourceRepositoryId: '', pullSourceRepositories: pulls, pullSourceRepositoryIds: [] }];
}

/**
 * `registryctl trusted-issuer create|list|delete <workspace> ...` (workspace
 * admins): CI jobs of a trusted issuer log in with `docker login --username oidc`
 * and their ID token, as the source repository their claim maps to.
 */
export function addTrustedIssuerCommands(program: Command, cli: { authApi(): users.UserServiceClient; as(): { authorization: string }; print(value: unknown): void }): void {
  const issuer = program.command('trusted-issuer').description('CI workload identity: OIDC issuers whose jobs push without a stored secret');
  issuer
    .command('create <workspace> <name>')
    .option('--kind <kind>', 'github-actions, gitlab-ci, bitbucket-pipelines or custom', 'custom')
    .option('--issuer <url>', 'the ID tokens\' iss (required for custom and bitbucket-pipelines)', '')
    .option('--jwks <url>', 'where its keys are (default: its discovery document\'s jwks_uri)', '')
    .option('--claim <name>', 'the claim naming the job\'s repository (default by kind)', '')
    .requiredOption('--map <value=project/repository>', 'claim value to source repository, "+project/repository" pulls too (repeatable)', mapping)
    .action(async (workspaceSlug: string, name: string, o: { kind: string; issuer: string; jwks: string; claim: string; map: users.ClaimMapping[] }) => {
      const c = cli.authApi();
      cli.print(await unaryCall(c.createTrustedIssuer.bind(c), { workspaceSlug, name, kind: o.kind, issuerUrl: o.issuer, jwksUrl: o.jwks, repositoryClaim: o.claim, mappings: o.map }, cli.as()));
    });
  issuer.command('list <workspace>').action(async (workspaceSlug: string) => {
    const c = cli.authApi();
    cli.print(await unaryCall(c.listTrustedIssuers.bind(c), { workspaceSlug }, cli.as()));
  });
  issuer.command('delete <workspace> <id>').description('its jobs\' logins stop').action(async (workspaceSlug: string, id: string) => {
    const c = cli.authApi();
    cli.print(await unaryCall(c.deleteTrustedIssuer.bind(c), { workspaceSlug, id }, cli.as()));
  });
}
