import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { retention as proto } from '@ocireg/proto';
import type { Access } from '../access';
import type { Caller, CallerResolver } from '../callers';
import { originOfCall } from '../change-origin';
import { roleAllows } from '../roles';
import { visibleRepositoryIds } from '../visibility';
import type { ApplyReport, Preview, Retention } from './retention';
import { packageName, type EffectiveRule, type ResolvedScope, type RetentionLevel, type RetentionRules, type ScopeRef } from './rules';

/** Tags and manifests listed per package preview; the totals count them all. */
const SHOWN = 5000;

const denied = (what: string) => new RegistryError('DENIED', `only ${what} may do this`);
const hidden = (what: string, field: string) => new RegistryError('NOT_FOUND', `${what.slice(0, 200)} does not exist`, { field });

export function scopeRef(scope: proto.RetentionScope | undefined): ScopeRef {
  if (!scope) throw new RegistryError('INVALID_ARGUMENT', 'scope: is required', { field: 'scope' });
  return {
    level: scope.level as RetentionLevel,
    workspaceSlug: scope.workspaceSlug,
    ...(scope.projectSlug ? { projectSlug: scope.projectSlug } : {}),
    ...(scope.sourceRepositoryId ? { sourceRepositoryId: scope.sourceRepositoryId } : {}),
    ...(scope.packageName ? { packageName: scope.packageName } : {}),
  };
}

export const ruleMessage = (r: EffectiveRule): proto.RetentionRule => ({
  id: r.id,
  level: r.level,
  scopeName: r.scopeName,
  kind: r.kind,
  pattern: r.pattern,
  count: r.count,
  days: r.days,
  description: r.description,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
  optedOutAt: r.optedOutAt ?? '',
});

export function previewMessage(preview: Preview): proto.RetentionPackagePreview {
  const { evaluation } = preview;
  const deleted = evaluation.deletedTags.slice(0, SHOWN);
  const kept = evaluation.tags.filter((t) => !t.delete).slice(0, SHOWN);
  return {
    packageName: preview.package.name,
    evaluatedAt: preview.evaluatedAt.toISOString(),
    rules: preview.rules.map(ruleMessage),
    tags: [...deleted, ...kept].map((t) => ({ name: t.name, digest: t.digest, updatedAt: t.updatedAt.toISOString(), delete: t.delete, keptBy: t.keptBy, why: t.why })),
    tagsTotal: evaluation.tags.length,
    deleteTagsTotal: evaluation.deletedTags.length,
    deleteManifests: evaluation.deletedManifests.slice(0, SHOWN).map((m) => ({ digest: m.digest, size: m.size, why: m.why })),
    deleteManifestsTotal: evaluation.deletedManifests.length,
    bytes: evaluation.bytes,
    needsConfirmation: preview.needsConfirmation,
  };
}

export function applyMessage(report: ApplyReport): proto.ApplyRetentionResponse {
  return { preview: previewMessage(report.preview), deletedTags: report.deletedTags.slice(0, SHOWN), deletedManifests: report.deletedManifests.slice(0, SHOWN), skipped: report.skipped.slice(0, SHOWN) };
}

export interface RetentionDeps {
  rules: RetentionRules;
  retention: Retention;
  access: Access;
}

/**
 * RetentionService, as the gateway's admin port forwards it with the caller's
 * assertion. Changes: workspace and project rules by operators and workspace
 * admins; source repository and package rules by the repository's Admins.
 * Reads: whoever may see the level (a package they may not read answers as
 * one that does not exist). Apply: Admins of the package's repository.
 */
export function retentionHandlers(deps: RetentionDeps, callers: CallerResolver): AsyncService<proto.RetentionServiceServer> {
  const { rules, retention, access } = deps;

  /** May the caller change rules at this level? */
  const mayChange = async (caller: Caller, scope: ResolvedScope): Promise<void> => {
    if (caller.operator) return;
    if (scope.level === 'workspace' || scope.level === 'project') {
      if (!(await access.isWorkspaceAdmin(caller.userId, scope.workspaceSlug))) throw denied(`operators and admins of workspace ${scope.workspaceSlug}`);
      return;
    }
    if (!(await access.isSourceRepositoryAdmin(caller.userId, scope.sourceRepositoryId!))) throw denied(`admins of the repository of ${scope.name}`);
  };
  /** A package the caller may read (else NOT_FOUND, as if it did not exist); `admin` also needs Admin on it. */
  const readablePackage = async (caller: Caller, workspaceSlug: string, name: string, admin = false) => {
    const repository = `${workspaceSlug}/${packageName(name)}`;
    if (!caller.operator) {
      let role;
      try {
        role = await access.roleOn(caller.userId, repository);
      } catch (err) {
        if (err instanceof RegistryError && err.httpStatus < 500) throw hidden(`package ${repository}`, 'package_name');
        throw err;
      }
      if (!role.packageExists || (!role.role && !role.publicPull)) throw hidden(`package ${repository}`, 'package_name');
      if (admin && !roleAllows(role.role, 'delete-manifest')) throw denied('Admins of the package');
    }
    return retention.packageOf(workspaceSlug, name);
  };
  /** A level the caller may see: the workspace for workspace and project levels, the package or repository below. */
  const readableScope = async (caller: Caller, ref: ScopeRef): Promise<ResolvedScope> => {
    if (ref.level === 'package') await readablePackage(caller, ref.workspaceSlug, ref.packageName ?? '');
    else if (!caller.operator) {
      const visibility = await access.visibility(caller.userId, ref.workspaceSlug);
      if (!visibility.visible) throw hidden(`workspace ${ref.workspaceSlug}`, 'workspace_slug');
      const ids = visibleRepositoryIds(visibility);
      if (ref.level === 'source-repository' && ids && !ids.includes(ref.sourceRepositoryId ?? '')) throw hidden(`repository ${ref.sourceRepositoryId}`, 'source_repository_id');
    }
    return rules.resolve(ref);
  };
  /** Changes: a caller with no role in the workspace learns nothing (NOT_FOUND) before being refused. */
  const changeable = async (ctx: CallContext, ref: ScopeRef): Promise<{ caller: Caller; scope: ResolvedScope }> => {
    const caller = callers.changer(ctx);
    const scope = await readableScope(caller, ref);
    await mayChange(caller, scope);
    return { caller, scope };
  };

  return {
    async createRetentionRule(request, ctx) {
      const { caller, scope } = await changeable(ctx, scopeRef(request.scope));
      const created = await rules.create(scope, { kind: request.kind, pattern: request.pattern, count: request.count, days: request.days }, originOfCall(ctx, caller));
      ctx.logger.info({ rule: created.id, level: scope.level, scope: scope.name, kind: created.kind }, 'retention rule created');
      return { rule: ruleMessage(created) };
    },
    async listRetentionRules(request, ctx) {
      const scope = await readableScope(callers.reader(ctx), scopeRef(request.scope));
      const listed = await rules.listAt(scope);
      return { rules: listed.rules.map(ruleMessage), optedOutRuleIds: listed.optedOut };
    },
    async deleteRetentionRule(request, ctx) {
      const caller = callers.changer(ctx);
      if (!caller.operator && !(await access.visibility(caller.userId, request.workspaceSlug)).visible) throw hidden(`retention rule ${request.ruleId}`, 'rule_id');
      const { scope } = await rules.get(request.workspaceSlug, request.ruleId);
      await mayChange(caller, scope);
      await rules.delete(request.workspaceSlug, request.ruleId, originOfCall(ctx, caller));
      return {};
    },
    async setRetentionOptOut(request, ctx) {
      const { caller, scope } = await changeable(ctx, scopeRef(request.scope));
      await rules.setOptOut(scope, request.ruleId, request.optOut, originOfCall(ctx, caller));
      return {};
    },
    async getEffectiveRetentionRules(request, ctx) {
      const path = await readablePackage(callers.reader(ctx), request.workspaceSlug, request.packageName);
      return { rules: (await rules.effective(path)).map(ruleMessage) };
    },
    async previewRetention(request, ctx) {
      const caller = callers.reader(ctx);
      const ref = scopeRef(request.scope);
      const scope = await readableScope(caller, ref);
      const packages = await retention.packagesUnder(scope);
      const previews: proto.RetentionPackagePreview[] = [];
      for (const path of packages) {
        if (scope.level !== 'package' && !caller.operator) {
          const role = await access.roleOn(caller.userId, path.repository);
          if (!role.role && !role.publicPull) continue;
        }
        previews.push(previewMessage(await retention.preview(path)));
      }
      return { packages: previews };
    },
    async applyRetention(request, ctx) {
      const caller = callers.changer(ctx);
      const path = await readablePackage(caller, request.workspaceSlug, request.packageName, true);
      const report = await retention.apply(path, { confirm: request.confirm, origin: originOfCall(ctx, caller) });
      ctx.logger.info({ package: path.repository, deletedTags: report.deletedTags.length, deletedManifests: report.deletedManifests.length, skipped: report.skipped.length }, 'retention applied');
      return applyMessage(report);
    },
  };
}
