import { text } from 'node:stream/consumers';
import { Command, InvalidArgumentError } from 'commander';
import { createGrpcClient, unaryCall, type ClientSecurity } from '@ocireg/grpc';
import { replication } from '@ocireg/proto';

/**
 * `registryctl replication create|get|list|delete|status|retry`: the
 * registries a workspace pushes its new tags to (docs/replication.md). A
 * password is read from stdin (--password-stdin), never from the command line.
 */
export function addReplicationCommands(program: Command, cli: { address(): string; security(): ClientSecurity; as(): { authorization: string }; print(value: unknown): void }): { close(): void } {
  let client: replication.ReplicationServiceClient | undefined;
  const api = (): replication.ReplicationServiceClient => (client ??= createGrpcClient(replication.ReplicationServiceClient, cli.address(), cli.security()));
  const command = program.command('replication').description("push a workspace's new tags to other OCI registries (replication targets)");
  command
    .command('create <workspace> <name> <url>')
    .description('operators and workspace admins; every tag pushed or moved in a matching package is then pushed to <url>')
    .option('--packages <glob>', 'which packages (their names without the workspace; * and ? as globs, e.g. "team/*")', '*')
    .option('--prefix <path>', 'repository path prefix on the target: <prefix>/<package> (default: <package>)', '')
    .option('--username <user>', 'the target account', '')
    .option('--password-stdin', 'read the target password (or token) from stdin; it is stored sealed and never shown again')
    .option('--disabled', 'create it without queueing jobs yet')
    .action(async (workspaceSlug: string, name: string, url: string, o: { packages: string; prefix: string; username: string; passwordStdin?: boolean; disabled?: boolean }) => {
      const password = o.passwordStdin ? (await text(process.stdin)).replace(/\r?\n$/, '') : '';
      const c = api();
      const request = { workspaceSlug, name, url, username: o.username, password, packagePattern: o.packages, destinationPrefix: o.prefix, enabled: !o.disabled };
      cli.print(replication.CreateReplicationTargetResponse.toJSON(await unaryCall(c.createReplicationTarget.bind(c), request, cli.as())));
    });
  command.command('get <workspace> <name>').action(async (workspaceSlug: string, name: string) => {
    const c = api();
    cli.print(replication.GetReplicationTargetResponse.toJSON(await unaryCall(c.getReplicationTarget.bind(c), { workspaceSlug, name }, cli.as())));
  });
  command.command('list <workspace>').action(async (workspaceSlug: string) => {
    const c = api();
    cli.print(replication.ListReplicationTargetsResponse.toJSON(await unaryCall(c.listReplicationTargets.bind(c), { workspaceSlug }, cli.as())));
  });
  command
    .command('delete <workspace> <name>')
    .description('removes the target and its jobs; what was replicated stays on the target')
    .action(async (workspaceSlug: string, name: string) => {
      const c = api();
      cli.print(await unaryCall(c.deleteReplicationTarget.bind(c), { workspaceSlug, name }, cli.as()));
    });
  command
    .command('status <workspace> <name>')
    .description("the target's recent jobs, newest first: tag, digest, state, attempts, last error")
    .option('--state <state>', 'only pending, running, succeeded, failed or superseded jobs')
    .option('--limit <n>', 'at most this many (default 50, at most 500)', (value) => {
      if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a number');
      return Number(value);
    })
    .action(async (workspaceSlug: string, targetName: string, o: { state?: string; limit?: number }) => {
      const c = api();
      cli.print(replication.ListReplicationsResponse.toJSON(await unaryCall(c.listReplications.bind(c), { workspaceSlug, targetName, state: o.state ?? '', limit: o.limit ?? 0 }, cli.as())));
    });
  command
    .command('retry <workspace> <name> <job-id>')
    .description('operators and workspace admins: a failed (or waiting) job is tried again now')
    .action(async (workspaceSlug: string, targetName: string, jobId: string) => {
      const c = api();
      cli.print(replication.RetryReplicationResponse.toJSON(await unaryCall(c.retryReplication.bind(c), { workspaceSlug, targetName, jobId }, cli.as())));
    });
  return { close: () => client?.close() };
}
