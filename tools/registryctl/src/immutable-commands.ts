import { Command, InvalidArgumentError, Option } from 'commander';
import { createGrpcClient, unaryCall, type ClientSecurity } from '@ocireg/grpc';
import { immutableTags } from '@ocireg/proto';

const Level = immutableTags.ImmutableTagRuleLevel;
const LEVELS: Record<string, immutableTags.ImmutableTagRuleLevel> = {
  workspace: Level.IMMUTABLE_TAG_RULE_LEVEL_WORKSPACE,
  project: Level.IMMUTABLE_TAG_RULE_LEVEL_PROJECT,
  'source-repository': Level.IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY,
  package: Level.IMMUTABLE_TAG_RULE_LEVEL_PACKAGE,
};

interface ScopeOptions {
  project?: string;
  sourceRepository?: string;
  package?: string;
}

/** The scope the options name: at most one of --project, --source-repository, --package; none is the workspace. */
function scopeOf(workspaceSlug: string, o: ScopeOptions): immutableTags.ImmutableTagRuleScope {
  const given = [o.project, o.sourceRepository, o.package].filter((v) => v !== undefined);
  if (given.length > 1) throw new InvalidArgumentError('give at most one of --project, --source-repository and --package');
  const level = o.project !== undefined ? LEVELS.project! : o.sourceRepository !== undefined ? LEVELS['source-repository']! : o.package !== undefined ? LEVELS.package! : LEVELS.workspace!;
  return { workspaceSlug, level, projectSlug: o.project ?? '', sourceRepositoryId: o.sourceRepository ?? '', packageName: o.package ?? '' };
}

const scopeOptions = (command: Command) =>
  command
    .addOption(new Option('--project <slug>', 'a project: the rule applies to every package of its source repositories'))
    .addOption(new Option('--source-repository <id>', 'a source repository: the rule applies to every package linked to it'))
    .addOption(new Option('--package <name>', 'one package'));

/**
 * `registryctl immutable create|list|effective|delete`: immutable tag rules
 * (docs/lifecycle-immutable.md). A tag a rule in effect matches can be pushed
 * once (and again with the same digest), never moved or deleted.
 */
export function addImmutableCommands(program: Command, cli: { address(): string; security(): ClientSecurity; as(): { authorization: string }; print(value: unknown): void }): { close(): void } {
  let client: immutableTags.ImmutableTagServiceClient | undefined;
  const api = (): immutableTags.ImmutableTagServiceClient => (client ??= createGrpcClient(immutableTags.ImmutableTagServiceClient, cli.address(), cli.security()));
  const immutable = program.command('immutable').description('immutable tag rules: tags matching a pattern cannot be moved or deleted, by anyone');
  scopeOptions(
    immutable
      .command('create <workspace> <pattern>')
      .description('a glob anchored to the whole tag: * any characters, ? one (v*, release-*, * for every tag); workspace and project rules: workspace admins; source repository and package rules: the repository\'s Admins'),
  ).action(async (workspaceSlug: string, pattern: string, o: ScopeOptions) => {
    const c = api();
    cli.print(immutableTags.CreateImmutableTagRuleResponse.toJSON(await unaryCall(c.createImmutableTagRule.bind(c), { scope: scopeOf(workspaceSlug, o), pattern }, cli.as())));
  });
  scopeOptions(
    immutable
      .command('list <workspace>')
      .description('the rules set at one scope (--project, --source-repository, --package, --workspace-only), or every rule of the workspace you may see')
      .option('--workspace-only', 'only the rules set at the workspace itself'),
  ).action(async (workspaceSlug: string, o: ScopeOptions & { workspaceOnly?: boolean }) => {
    const c = api();
    const scoped = o.workspaceOnly || o.project !== undefined || o.sourceRepository !== undefined || o.package !== undefined;
    const scope = scoped ? scopeOf(workspaceSlug, o) : { workspaceSlug, level: Level.IMMUTABLE_TAG_RULE_LEVEL_UNSPECIFIED, projectSlug: '', sourceRepositoryId: '', packageName: '' };
    cli.print(immutableTags.ListImmutableTagRulesResponse.toJSON(await unaryCall(c.listImmutableTagRules.bind(c), { scope }, cli.as())));
  });
  immutable
    .command('effective <workspace> <package>')
    .description("the rules in effect for a package: its own and its source repository's, project's and workspace's, each with its level")
    .action(async (workspaceSlug: string, packageName: string) => {
      const c = api();
      cli.print(immutableTags.GetEffectiveImmutableTagRulesResponse.toJSON(await unaryCall(c.getEffectiveImmutableTagRules.bind(c), { workspaceSlug, packageName }, cli.as())));
    });
  immutable
    .command('delete <workspace> <id>')
    .description('removes a rule: the tags it protected may move and be deleted again')
    .action(async (workspaceSlug: string, id: string) => {
      const c = api();
      cli.print(await unaryCall(c.deleteImmutableTagRule.bind(c), { workspaceSlug, id }, cli.as()));
    });
  return { close: () => client?.close() };
}
