import { Command, InvalidArgumentError } from 'commander';
import { createGrpcClient, unaryCall, type ClientSecurity } from '@ocireg/grpc';
import { retention } from '@ocireg/proto';

interface ScopeOptions {
  project?: string;
  repository?: string;
  package?: string;
}

const count = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
};

/** The most specific level the options name: a package, a source repository, a project, else the workspace. */
function scopeOf(workspaceSlug: string, o: ScopeOptions): retention.RetentionScope {
  const level = o.package ? 'package' : o.repository ? 'source-repository' : o.project ? 'project' : 'workspace';
  return { level, workspaceSlug, projectSlug: o.project ?? '', sourceRepositoryId: o.repository ?? '', packageName: o.package ?? '' };
}

const withScope = (command: Command) =>
  command
    .option('--project <slug>', 'the project level')
    .option('--repository <id>', 'the source repository level')
    .option('--package <name>', 'the package level');

/**
 * `registryctl retention create|list|effective|delete|opt-out|preview|apply`:
 * retention rules at a workspace, project, source repository or package
 * (docs/lifecycle-retention.md). Preview is the dry run; apply deletes what
 * a preview shows at that moment, and past the threshold needs --confirm.
 */
export function addRetentionCommands(program: Command, cli: { address(): string; security(): ClientSecurity; as(): { authorization: string }; print(value: unknown): void }): { close(): void } {
  let client: retention.RetentionServiceClient | undefined;
  const api = (): retention.RetentionServiceClient => (client ??= createGrpcClient(retention.RetentionServiceClient, cli.address(), cli.security()));
  const group = program.command('retention').description('retention rules with a mandatory dry run: keep-latest, keep-recent, delete-untagged, protect');
  withScope(
    group
      .command('create <workspace>')
      .description('workspace admins (workspace, project); repository Admins (their repository, its packages)')
      .requiredOption('--kind <kind>', 'keep-latest | keep-recent | delete-untagged | protect')
      .option('--pattern <glob>', 'tags it looks at: * any run, ? one character, anchored (keep-latest, keep-recent, protect)', '')
      .option('--count <n>', 'keep-latest: how many of the most recently pushed matching tags to keep', count, 0)
      .option('--days <n>', 'keep-recent: pushed or pulled within; delete-untagged: untagged manifests older than', count, 0),
  ).action(async (workspaceSlug: string, o: ScopeOptions & { kind: string; pattern: string; count: number; days: number }) => {
    const c = api();
    const request = { scope: scopeOf(workspaceSlug, o), kind: o.kind, pattern: o.pattern, count: o.count, days: o.days };
    cli.print(retention.CreateRetentionRuleResponse.toJSON(await unaryCall(c.createRetentionRule.bind(c), request, cli.as())));
  });
  withScope(group.command('list <workspace>').description('the rules set at one level, and the inherited ones it opted out of')).action(async (workspaceSlug: string, o: ScopeOptions) => {
    const c = api();
    cli.print(retention.ListRetentionRulesResponse.toJSON(await unaryCall(c.listRetentionRules.bind(c), { scope: scopeOf(workspaceSlug, o) }, cli.as())));
  });
  group
    .command('effective <workspace> <package>')
    .description('every rule that reaches a package, with the level it comes from')
    .action(async (workspaceSlug: string, packageName: string) => {
      const c = api();
      cli.print(retention.GetEffectiveRetentionRulesResponse.toJSON(await unaryCall(c.getEffectiveRetentionRules.bind(c), { workspaceSlug, packageName }, cli.as())));
    });
  group.command('delete <workspace> <rule-id>').action(async (workspaceSlug: string, ruleId: string) => {
    const c = api();
    cli.print(await unaryCall(c.deleteRetentionRule.bind(c), { workspaceSlug, ruleId }, cli.as()));
  });
  withScope(group.command('opt-out <workspace> <rule-id>').description('a level below the rule stops inheriting it').option('--undo', 'inherit it again')).action(
    async (workspaceSlug: string, ruleId: string, o: ScopeOptions & { undo?: boolean }) => {
      const c = api();
      cli.print(await unaryCall(c.setRetentionOptOut.bind(c), { scope: scopeOf(workspaceSlug, o), ruleId, optOut: !o.undo }, cli.as()));
    },
  );
  withScope(group.command('preview <workspace>').description('dry run: what would be deleted, the bytes freed, and which rule keeps each kept tag')).action(async (workspaceSlug: string, o: ScopeOptions) => {
    const c = api();
    cli.print(retention.PreviewRetentionResponse.toJSON(await unaryCall(c.previewRetention.bind(c), { scope: scopeOf(workspaceSlug, o) }, cli.as())));
  });
  group
    .command('apply <workspace> <package>')
    .description("repository Admins: delete what a preview shows now (never a tag pushed since); past the threshold it needs --confirm")
    .option('--confirm', 'delete even more than the threshold (default 50% of the tags)')
    .action(async (workspaceSlug: string, packageName: string, o: { confirm?: boolean }) => {
      const c = api();
      cli.print(retention.ApplyRetentionResponse.toJSON(await unaryCall(c.applyRetention.bind(c), { workspaceSlug, packageName, confirm: o.confirm === true }, cli.as())));
    });
  return { close: () => client?.close() };
}
