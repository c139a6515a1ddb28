import { text } from 'node:stream/consumers';
import { Command, InvalidArgumentError } from 'commander';
import { createGrpcClient, unaryCall, type ClientSecurity } from '@ocireg/grpc';
import { upstreams } from '@ocireg/proto';

/**
 * `registryctl upstream create|get|list|delete`: the upstream registries a
 * workspace pulls through (docs/pull-through.md). A password is read from
 * stdin (--password-stdin), never from the command line.
 */
export function addUpstreamCommands(program: Command, cli: { address(): string; security(): ClientSecurity; as(): { authorization: string }; print(value: unknown): void }): { close(): void } {
  let client: upstreams.UpstreamServiceClient | undefined;
  const api = (): upstreams.UpstreamServiceClient => (client ??= createGrpcClient(upstreams.UpstreamServiceClient, cli.address(), cli.security()));
  const upstream = program.command('upstream').description('upstream registries a workspace pulls through: <host>/<workspace>/<upstream>/<repository>');
  upstream
    .command('create <workspace> <name> <url>')
    .description('operators and workspace admins; <name> becomes the path segment after the workspace')
    .requiredOption('--repository <id>', 'source repository the cached packages link to: its members with Read may pull through')
    .option('--username <user>', 'the upstream account', '')
    .option('--password-stdin', 'read the upstream password (or token) from stdin; it is stored sealed and never shown again')
    .option('--namespace <prefix...>', 'upstream repository prefixes served (e.g. library); default: all')
    .option('--tag-ttl <seconds>', 'revalidate a cached tag with the upstream once it is this old', (value) => {
      if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a number of seconds');
      return Number(value);
    })
    .action(async (workspaceSlug: string, name: string, url: string, o: { repository: string; username: string; passwordStdin?: boolean; namespace?: string[]; tagTtl?: number }) => {
      const password = o.passwordStdin ? (await text(process.stdin)).replace(/\r?\n$/, '') : '';
      const c = api();
      const request = { workspaceSlug, name, url, username: o.username, password, sourceRepositoryId: o.repository, namespaces: o.namespace ?? [], tagTtlSeconds: o.tagTtl };
      cli.print(upstreams.CreateUpstreamResponse.toJSON(await unaryCall(c.createUpstream.bind(c), request, cli.as())));
    });
  upstream.command('get <workspace> <name>').action(async (workspaceSlug: string, name: string) => {
    const c = api();
    cli.print(upstreams.GetUpstreamResponse.toJSON(await unaryCall(c.getUpstream.bind(c), { workspaceSlug, name }, cli.as())));
  });
  upstream.command('list <workspace>').action(async (workspaceSlug: string) => {
    const c = api();
    cli.print(upstreams.ListUpstreamsResponse.toJSON(await unaryCall(c.listUpstreams.bind(c), { workspaceSlug }, cli.as())));
  });
  upstream
    .command('delete <workspace> <name>')
    .description('what it cached stays, as the packages it created')
    .action(async (workspaceSlug: string, name: string) => {
      const c = api();
      cli.print(await unaryCall(c.deleteUpstream.bind(c), { workspaceSlug, name }, cli.as()));
    });
  return { close: () => client?.close() };
}
