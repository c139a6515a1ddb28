import type { Pool } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName } from '@ocireg/oci';
import { inTransaction } from '@ocireg/postgres';
import type { ChangeOrigin } from '../change-origin';
import { requireSourceRepositoryInWorkspace, workspaceBySlug, type Queryable } from '../lookups';
import { findPackage } from '../packages';
import { invalid, slug, uuid } from '../validation';
import { matchesTagPattern, tagPattern } from './tag-pattern';

/** Where a rule is set; it applies to every package below. Outermost first. */
export const RULE_LEVELS = ['workspace', 'project', 'source_repository', 'package'] as const;
export type RuleLevel = (typeof RULE_LEVELS)[number];

/** Rules one scope may hold. */
export const MAX_RULES_PER_SCOPE = 100;

export interface ImmutableTagRule {
  id: string;
  workspaceSlug: string;
  level: RuleLevel;
  /** Set for project-level rules. */
  projectSlug: string;
  /** Set for source-repository-level rules. */
  sourceRepositoryId: string;
  /** Set for package-level rules. */
  packageName: string;
  /** The scope in words: "acme", "acme/backend", "acme/backend/api", "acme/api". */
  scopeName: string;
  pattern: string;
  createdBy: string;
  createdAt: string;
  /** For visibility checks: the project of a project rule, the source repository a package rule's package links to. */
  projectId: string;
  packageSourceRepositoryId: string;
}

/** A level and what names its scope (only the level's own field is read). */
export interface RuleScope {
  workspaceSlug: string;
  level: RuleLevel;
  projectSlug?: string;
  sourceRepositoryId?: string;
  packageName?: string;
}

/** A scope found: its ids, and who may change its rules. */
export interface ResolvedScope {
  workspaceId: string;
  workspaceSlug: string;
  level: RuleLevel;
  projectId?: string;
  repositoryId?: string;
  packageId?: string;
  /** Workspace and project rules: workspace admins; source repository and package rules: that repository's Admins. */
  changedBy: { workspaceAdmins: true } | { sourceRepositoryId: string };
  /** The source repository whose visibility decides who sees the scope's rules (none for workspace and project). */
  visibleThrough?: { sourceRepositoryId: string; packageName?: string };
  scopeName: string;
}

interface RuleRow {
  id: string;
  level: RuleLevel;
  pattern: string;
  created_by: string;
  created_at: Date;
  workspace_slug: string;
  project_id: string | null;
  project_slug: string | null;
  repository_id: string | null;
  repository_path: string | null;
  package_name: string | null;
  package_repository_id: string | null;
}

const SELECT_RULES = `
  SELECT r.id, r.level, r.pattern, r.created_by, r.created_at, w.slug AS workspace_slug,
         r.project_id, pr.slug AS project_slug, r.repository_id, rp.slug || '/' || sr.slug AS repository_path,
         pk.name AS package_name, pk.repository_id AS package_repository_id
  FROM immutable_tag_rules r
  JOIN workspaces w ON w.id = r.workspace_id
  LEFT JOIN projects pr ON pr.id = r.project_id
  LEFT JOIN source_repositories sr ON sr.id = r.repository_id
  LEFT JOIN projects rp ON rp.id = sr.project_id
  LEFT JOIN packages pk ON pk.id = r.package_id`;
const ORDER = `ORDER BY array_position(ARRAY['workspace','project','source_repository','package'], r.level), r.pattern COLLATE "C", r.id`;

function toRule(row: RuleRow): ImmutableTagRule {
  const ws = row.workspace_slug;
  const scopeName =
    row.level === 'workspace' ? ws : row.level === 'project' ? `${ws}/${row.project_slug}` : row.level === 'source_repository' ? `${ws}/${row.repository_path}` : `${ws}/${row.package_name}`;
  return {
    id: row.id,
    workspaceSlug: ws,
    level: row.level,
    projectSlug: row.project_slug ?? '',
    sourceRepositoryId: row.repository_id ?? '',
    packageName: row.package_name ?? '',
    scopeName,
    pattern: row.pattern,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    projectId: row.project_id ?? '',
    packageSourceRepositoryId: row.package_repository_id ?? '',
  };
}

/** A rule in words, as refusals and audit entries name it. */
export function describeRule(rule: Pick<ImmutableTagRule, 'pattern' | 'level' | 'scopeName'>): string {
  return `immutable tag rule "${rule.pattern}" of ${rule.level.replace('_', ' ')} ${rule.scopeName}`;
}

/**
 * Immutable tag rules: set per workspace, project, source repository or
 * package, in effect for every package below. Pushes (manifests.ts) and
 * deletions (deletions.ts) ask `immutableRuleFor` inside their transactions;
 * changing rules is audited in the same transaction. Role checks are the
 * handlers' (immutable-tag-handlers.ts), from `ResolvedScope.changedBy`.
 */
export class ImmutableTagRules {
  constructor(private readonly pool: Pool) {}

  /** Finds a scope; NOT_FOUND naming the field of what does not exist. */
  async resolve(scope: RuleScope): Promise<ResolvedScope> {
    const workspace = await workspaceBySlug(this.pool, scope.workspaceSlug);
    const base = { workspaceId: workspace.id, workspaceSlug: workspace.slug };
    switch (scope.level) {
      case 'workspace':
        return { ...base, level: 'workspace', changedBy: { workspaceAdmins: true }, scopeName: workspace.slug };
      case 'project': {
        const projectSlug = slug('project_slug', scope.projectSlug ?? '');
        const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM projects WHERE workspace_id = $1 AND slug = $2', [workspace.id, projectSlug]);
        if (!rows[0]) throw new RegistryError('NOT_FOUND', `project ${projectSlug} does not exist in ${workspace.slug}`, { field: 'project_slug' });
        return { ...base, level: 'project', projectId: rows[0].id, changedBy: { workspaceAdmins: true }, scopeName: `${workspace.slug}/${projectSlug}` };
      }
      case 'source_repository': {
        const id = uuid('source_repository_id', scope.sourceRepositoryId ?? '');
        await requireSourceRepositoryInWorkspace(this.pool, id, workspace.id, 'source_repository_id');
        const { rows } = await this.pool.query<{ path: string }>("SELECT p.slug || '/' || r.slug AS path FROM source_repositories r JOIN projects p ON p.id = r.project_id WHERE r.id = $1", [id]);
        return { ...base, level: 'source_repository', repositoryId: id, changedBy: { sourceRepositoryId: id }, visibleThrough: { sourceRepositoryId: id }, scopeName: `${workspace.slug}/${rows[0]?.path ?? id}` };
      }
      case 'package': {
        const name = packageNameOf(workspace.slug, scope.packageName ?? '');
        const found = await findPackage(this.pool, workspace.id, name);
        if (!found) throw new RegistryError('NOT_FOUND', `package ${workspace.slug}/${name} does not exist`, { field: 'package_name' });
        return {
          ...base,
          level: 'package',
          packageId: found.id,
          changedBy: { sourceRepositoryId: found.sourceRepositoryId },
          visibleThrough: { sourceRepositoryId: found.sourceRepositoryId, packageName: name },
          scopeName: `${workspace.slug}/${name}`,
        };
      }
      default:
        throw invalid('level', 'must be workspace, project, source repository or package');
    }
  }

  /** Adds a rule at a resolved scope; ALREADY_EXISTS for a pattern the scope has. Audited (immutable-rule.created). */
  async create(scope: ResolvedScope, pattern: string, createdBy: string, origin: ChangeOrigin): Promise<ImmutableTagRule> {
    const checked = tagPattern('pattern', pattern);
    return inTransaction(this.pool, async (client) => {
      const { rows: counted } = await client.query<{ n: string }>(
        'SELECT count(*) AS n FROM immutable_tag_rules WHERE workspace_id = $1 AND level = $2 AND COALESCE(project_id, repository_id, package_id, workspace_id) = $3',
        [scope.workspaceId, scope.level, scopeId(scope)],
      );
      if (Number(counted[0]?.n ?? 0) >= MAX_RULES_PER_SCOPE) throw new RegistryError('FAILED_PRECONDITION', `${scope.scopeName} already has ${MAX_RULES_PER_SCOPE} immutable tag rules`);
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO immutable_tag_rules (workspace_id, level, project_id, repository_id, package_id, pattern, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
        [scope.workspaceId, scope.level, scope.projectId ?? null, scope.repositoryId ?? null, scope.packageId ?? null, checked, createdBy],
      );
      if (!rows[0]) throw new RegistryError('ALREADY_EXISTS', `${scope.scopeName} already has the immutable tag rule "${checked}"`, { field: 'pattern' });
      const rule = await ruleById(client, rows[0].id);
      await recordAudit(client, origin, {
        action: 'immutable-rule.created',
        workspace: scope.workspaceSlug,
        target: { type: 'immutable-rule', id: rule.id, name: `${scope.scopeName}:${rule.pattern}` },
        after: { pattern: rule.pattern, level: rule.level, scope: rule.scopeName },
      });
      return rule;
    });
  }

  /** The rules set at exactly one scope. */
  async listAt(scope: ResolvedScope): Promise<ImmutableTagRule[]> {
    const { rows } = await this.pool.query<RuleRow>(
      `${SELECT_RULES} WHERE r.workspace_id = $1 AND r.level = $2 AND COALESCE(r.project_id, r.repository_id, r.package_id, r.workspace_id) = $3 ${ORDER}`,
      [scope.workspaceId, scope.level, scopeId(scope)],
    );
    return rows.map(toRule);
  }

  /** Every rule set anywhere in a workspace. */
  async listInWorkspace(workspaceSlug: string): Promise<ImmutableTagRule[]> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const { rows } = await this.pool.query<RuleRow>(`${SELECT_RULES} WHERE r.workspace_id = $1 ${ORDER}`, [workspace.id]);
    return rows.map(toRule);
  }

  /** The rules in effect for a package (or a repository name without a package: its workspace's), outermost level first. */
  async effective(repository: string, db: Queryable = this.pool): Promise<ImmutableTagRule[]> {
    return effectiveRules(db, repository);
  }

  /** A rule of a workspace; NOT_FOUND when the workspace has no such rule. */
  async get(workspaceSlug: string, id: string): Promise<ImmutableTagRule> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const { rows } = await this.pool.query<RuleRow>(`${SELECT_RULES} WHERE r.workspace_id = $1 AND r.id = $2`, [workspace.id, uuid('id', id)]);
    if (!rows[0]) throw new RegistryError('NOT_FOUND', `immutable tag rule ${id} does not exist in ${workspace.slug}`, { field: 'id' });
    return toRule(rows[0]);
  }

  /** Removes a rule (tags it protected may move and be deleted again). Audited (immutable-rule.deleted). */
  async delete(rule: ImmutableTagRule, origin: ChangeOrigin): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const deleted = await client.query('DELETE FROM immutable_tag_rules WHERE id = $1', [rule.id]);
      if (!deleted.rowCount) throw new RegistryError('NOT_FOUND', `immutable tag rule ${rule.id} does not exist in ${rule.workspaceSlug}`, { field: 'id' });
      await recordAudit(client, origin, {
        action: 'immutable-rule.deleted',
        workspace: rule.workspaceSlug,
        target: { type: 'immutable-rule', id: rule.id, name: `${rule.scopeName}:${rule.pattern}` },
        before: { pattern: rule.pattern, level: rule.level, scope: rule.scopeName },
      });
    });
  }
}

/** The rules in effect for a repository name ("<workspace>/<image>"), read with `db` (a push's or deletion's transaction). */
export async function effectiveRules(db: Queryable, repository: string): Promise<ImmutableTagRule[]> {
  const name = parseRepositoryName(repository);
  const { rows } = await db.query<RuleRow>(
    `${SELECT_RULES}
     LEFT JOIN packages target ON target.workspace_id = r.workspace_id AND target.name = $2
     LEFT JOIN source_repositories target_repo ON target_repo.id = target.repository_id
     WHERE w.slug = $1
       AND (r.level = 'workspace' OR r.package_id = target.id OR r.repository_id = target.repository_id OR r.project_id = target_repo.project_id)
     ${ORDER}`,
    [name.workspace, name.image],
  );
  return rows.map(toRule);
}

/** The first rule in effect for a repository that one of `tags` matches, with that tag; undefined when none does. */
export async function immutableRuleFor(db: Queryable, repository: string, tags: readonly string[]): Promise<{ tag: string; rule: ImmutableTagRule } | undefined> {
  if (tags.length === 0) return undefined;
  const rules = await effectiveRules(db, repository);
  for (const rule of rules) {
    const tag = tags.find((t) => matchesTagPattern(rule.pattern, t));
    if (tag !== undefined) return { tag, rule };
  }
  return undefined;
}

/**
 * DENIED when one of `tags` of `repository` is immutable: "what" says what
 * was refused ("moved to sha256:…", "deleted", "deleted with manifest …").
 * Everyone is refused, Admins and operators included.
 */
export async function refuseImmutableTags(db: Queryable, repository: string, tags: readonly string[], what: string): Promise<void> {
  const found = await immutableRuleFor(db, repository, tags);
  if (!found) return;
  const { tag, rule } = found;
  throw new RegistryError('DENIED', `tag ${tag} of ${repository} is immutable (${describeRule(rule)}): it cannot be ${what}`, {
    tag,
    rule: { id: rule.id, pattern: rule.pattern, level: rule.level, scope: rule.scopeName },
  });
}

function scopeId(scope: ResolvedScope): string {
  return scope.projectId ?? scope.repositoryId ?? scope.packageId ?? scope.workspaceId;
}

async function ruleById(db: Queryable, id: string): Promise<ImmutableTagRule> {
  const { rows } = await db.query<RuleRow>(`${SELECT_RULES} WHERE r.id = $1`, [id]);
  return toRule(rows[0]!);
}

function packageNameOf(workspaceSlug: string, name: string): string {
  try {
    return parseRepositoryName(`${workspaceSlug}/${name}`).image;
  } catch {
    throw invalid('package_name', 'must follow the OCI repository name grammar (lowercase path components separated by "/")');
  }
}
