import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import { immutableTags } from '@ocireg/proto';
import type { Access } from '../access';
import type { Caller, CallerResolver } from '../callers';
import { originOfCall } from '../change-origin';
import type { Packages } from '../packages';
import type { Projects } from '../projects';
import { invalid } from '../validation';
import { canSeePackage, visibleRepositoryIds, type Visibility } from '../visibility';
import type { ImmutableTagRule, ImmutableTagRules, ResolvedScope, RuleLevel, RuleScope } from './immutable-tag-rules';

const Level = immutableTags.ImmutableTagRuleLevel;
const LEVEL_FROM_PROTO: Partial<Record<immutableTags.ImmutableTagRuleLevel, RuleLevel>> = {
  [Level.IMMUTABLE_TAG_RULE_LEVEL_WORKSPACE]: 'workspace',
  [Level.IMMUTABLE_TAG_RULE_LEVEL_PROJECT]: 'project',
  [Level.IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY]: 'source_repository',
  [Level.IMMUTABLE_TAG_RULE_LEVEL_PACKAGE]: 'package',
};
const LEVEL_TO_PROTO: Record<RuleLevel, immutableTags.ImmutableTagRuleLevel> = {
  workspace: Level.IMMUTABLE_TAG_RULE_LEVEL_WORKSPACE,
  project: Level.IMMUTABLE_TAG_RULE_LEVEL_PROJECT,
  source_repository: Level.IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY,
  package: Level.IMMUTABLE_TAG_RULE_LEVEL_PACKAGE,
};

export const ruleMessage = (r: ImmutableTagRule): immutableTags.ImmutableTagRule => ({
  id: r.id,
  workspaceSlug: r.workspaceSlug,
  level: LEVEL_TO_PROTO[r.level],
  projectSlug: r.projectSlug,
  sourceRepositoryId: r.sourceRepositoryId,
  packageName: r.packageName,
  scopeName: r.scopeName,
  pattern: r.pattern,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
});

function scopeOf(scope: immutableTags.ImmutableTagRuleScope | undefined): RuleScope {
  if (!scope) throw invalid('scope', 'is required');
  const level = LEVEL_FROM_PROTO[scope.level];
  if (!level) throw invalid('scope.level', 'must be WORKSPACE, PROJECT, SOURCE_REPOSITORY or PACKAGE');
  return { workspaceSlug: scope.workspaceSlug, level, projectSlug: scope.projectSlug, sourceRepositoryId: scope.sourceRepositoryId, packageName: scope.packageName };
}

const notFound = (what: string, field: string) => new RegistryError('NOT_FOUND', `${what.slice(0, 200)} does not exist`, { field });

/**
 * ImmutableTagService, as the gateway's admin port forwards it with the
 * caller's assertion. Changes (admin:package): operators and workspace admins
 * for workspace and project rules, a source repository's Admins (workspace
 * admins among them) for the repository's and its packages' rules. Reads: who
 * may see a scope sees its rules; what they may not see answers as missing.
 */
export function immutableTagHandlers(
  model: { immutableTagRules: ImmutableTagRules; access: Access; packages: Packages; projects: Projects },
  callers: CallerResolver,
): AsyncService<immutableTags.ImmutableTagServiceServer> {
  const rules = model.immutableTagRules;

  const mayChange = async (caller: Caller, changedBy: ResolvedScope['changedBy'], workspaceSlug: string): Promise<void> => {
    if (caller.operator) return;
    if ('workspaceAdmins' in changedBy) {
      if (!(await model.access.isWorkspaceAdmin(caller.userId, workspaceSlug))) throw new RegistryError('DENIED', `only operators and admins of workspace ${workspaceSlug} may change its workspace and project immutable tag rules`);
      return;
    }
    if (!(await model.access.isSourceRepositoryAdmin(caller.userId, changedBy.sourceRepositoryId))) throw new RegistryError('DENIED', 'only Admins of the source repository may change its immutable tag rules and its packages\'');
  };

  const visibility = async (ctx: CallContext, workspaceSlug: string): Promise<Visibility> => {
    const caller = callers.reader(ctx);
    const seen = await model.access.visibility(caller.userId, workspaceSlug, caller.operator);
    if (!seen.visible) throw notFound(`workspace ${workspaceSlug}`, 'workspace_slug');
    return seen;
  };

  /** Project ids holding a repository the caller sees (undefined: all). */
  const visibleProjectIds = async (workspaceSlug: string, seen: Visibility): Promise<Set<string> | undefined> => {
    const ids = visibleRepositoryIds(seen);
    if (!ids) return undefined;
    return new Set((await model.projects.list(workspaceSlug, 500, '', ids)).items.map((p) => p.id));
  };

  const canSeeRule = (rule: ImmutableTagRule, seen: Visibility, projects: Set<string> | undefined): boolean => {
    if (seen.allPackages) return true;
    switch (rule.level) {
      case 'workspace':
        return true;
      case 'project':
        return projects === undefined || projects.has(rule.projectId);
      case 'source_repository':
        return (visibleRepositoryIds(seen) ?? []).includes(rule.sourceRepositoryId);
      case 'package':
        return canSeePackage(seen, { name: rule.packageName, sourceRepositoryId: rule.packageSourceRepositoryId });
    }
  };

  const canSeeScope = async (scope: ResolvedScope, seen: Visibility): Promise<boolean> => {
    if (seen.allPackages || scope.level === 'workspace') return true;
    if (scope.level === 'project') return (await visibleProjectIds(scope.workspaceSlug, seen))!.has(scope.projectId!);
    const through = scope.visibleThrough!;
    if (through.packageName !== undefined) return canSeePackage(seen, { name: through.packageName, sourceRepositoryId: through.sourceRepositoryId });
    return (visibleRepositoryIds(seen) ?? []).includes(through.sourceRepositoryId);
  };

  return {
    async createImmutableTagRule(request, ctx) {
      const caller = callers.changer(ctx);
      const scope = await rules.resolve(scopeOf(request.scope));
      await mayChange(caller, scope.changedBy, scope.workspaceSlug);
      const rule = await rules.create(scope, request.pattern, caller.userId, originOfCall(ctx, caller));
      ctx.logger.info({ rule: rule.id, pattern: rule.pattern, level: rule.level, scope: rule.scopeName, actor: caller.userId }, 'immutable tag rule created');
      return { rule: ruleMessage(rule) };
    },
    async listImmutableTagRules(request, ctx) {
      const workspaceSlug = request.scope?.workspaceSlug ?? '';
      const seen = await visibility(ctx, workspaceSlug);
      if (!request.scope || request.scope.level === Level.IMMUTABLE_TAG_RULE_LEVEL_UNSPECIFIED) {
        const all = await rules.listInWorkspace(workspaceSlug);
        const projects = seen.allPackages ? undefined : await visibleProjectIds(workspaceSlug, seen);
        return { rules: all.filter((rule) => canSeeRule(rule, seen, projects)).map(ruleMessage) };
      }
      let scope: ResolvedScope;
      try {
        scope = await rules.resolve(scopeOf(request.scope));
      } catch (err) {
        if (err instanceof RegistryError && err.code === 'NOT_FOUND' && !seen.allPackages) throw notFound('scope', 'scope');
        throw err;
      }
      if (!(await canSeeScope(scope, seen))) throw notFound(scope.scopeName, 'scope');
      return { rules: (await rules.listAt(scope)).map(ruleMessage) };
    },
    async getEffectiveImmutableTagRules(request, ctx) {
      const seen = await visibility(ctx, request.workspaceSlug);
      let found;
      try {
        found = await model.packages.get(request.workspaceSlug, request.packageName);
      } catch (err) {
        if (err instanceof RegistryError && err.code === 'NOT_FOUND') throw notFound(`package ${request.workspaceSlug}/${request.packageName}`, 'package_name');
        throw err;
      }
      if (!canSeePackage(seen, found)) throw notFound(`package ${request.workspaceSlug}/${request.packageName}`, 'package_name');
      return { rules: (await rules.effective(`${found.workspaceSlug}/${found.name}`)).map(ruleMessage) };
    },
    async deleteImmutableTagRule(request, ctx) {
      const caller = callers.changer(ctx);
      const rule = await rules.get(request.workspaceSlug, request.id);
      const changedBy: ResolvedScope['changedBy'] =
        rule.level === 'workspace' || rule.level === 'project' ? { workspaceAdmins: true } : { sourceRepositoryId: rule.level === 'package' ? rule.packageSourceRepositoryId : rule.sourceRepositoryId };
      if (!caller.operator) {
        const seen = await model.access.visibility(caller.userId, rule.workspaceSlug, false);
        const projects = seen.allPackages ? undefined : await visibleProjectIds(rule.workspaceSlug, seen);
        if (!seen.visible || !canSeeRule(rule, seen, projects)) throw notFound(`immutable tag rule ${request.id}`, 'id');
      }
      await mayChange(caller, changedBy, rule.workspaceSlug);
      await rules.delete(rule, originOfCall(ctx, caller));
      ctx.logger.info({ rule: rule.id, pattern: rule.pattern, level: rule.level, scope: rule.scopeName, actor: caller.userId }, 'immutable tag rule deleted');
      return {};
    },
  };
}
