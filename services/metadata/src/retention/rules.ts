import type { Pool } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import type { ChangeOrigin } from '../change-origin';
import type { Queryable } from '../lookups';
import { invalid, slug, uuid, REPOSITORY_PATH } from '../validation';
import { describeRule, RULE_KINDS, type EvaluatedRule, type RuleKind } from './evaluate';
import { patternProblem } from './pattern';

/** Where a rule is set; it applies to every package below. */
export type RetentionLevel = 'workspace' | 'project' | 'source-repository' | 'package';
export const LEVELS: readonly RetentionLevel[] = ['workspace', 'project', 'source-repository', 'package'];

/** A level named as users name it. */
export interface ScopeRef {
  level: RetentionLevel;
  workspaceSlug: string;
  projectSlug?: string;
  sourceRepositoryId?: string;
  packageName?: string;
}

export interface ResolvedScope {
  level: RetentionLevel;
  id: string;
  workspaceId: string;
  workspaceSlug: string;
  /** For messages: "acme", "acme/platform", "acme/platform/api", "acme/app". */
  name: string;
  /** The source repository whose Admins may change the scope's rules (source-repository and package levels). */
  sourceRepositoryId?: string;
}

export interface RetentionRuleRecord extends EvaluatedRule {
  level: RetentionLevel;
  scopeId: string;
  scopeName: string;
  description: string;
  createdBy: string;
  createdAt: string;
}

export interface EffectiveRule extends RetentionRuleRecord {
  /** Opted out by the level named here (then it does not apply). */
  optedOutAt?: string;
}

export interface RuleInput {
  kind: string;
  pattern?: string;
  count?: number;
  days?: number;
}

export const MAX_COUNT = 100_000;
export const MAX_DAYS = 36_500;

/** A rule as asked for, checked: a malformed pattern is refused here (and would match nothing anyway). */
export function checkedRule(input: RuleInput): { kind: RuleKind; pattern: string; count: number; days: number } {
  const kind = input.kind as RuleKind;
  if (!RULE_KINDS.includes(kind)) throw invalid('kind', `must be one of ${RULE_KINDS.join(', ')}`);
  const count = input.count ?? 0;
  const days = input.days ?? 0;
  if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT) throw invalid('count', `must be a whole number from 0 to ${MAX_COUNT}`);
  if (!Number.isInteger(days) || days < 0 || days > MAX_DAYS) throw invalid('days', `must be a whole number from 0 to ${MAX_DAYS}`);
  if (kind === 'delete-untagged') {
    if (days < 1) throw invalid('days', 'a delete-untagged rule needs at least 1 day');
    if (input.pattern) throw invalid('pattern', 'a delete-untagged rule takes no pattern');
    return { kind, pattern: '', count: 0, days };
  }
  const pattern = input.pattern ?? '';
  const problem = patternProblem(pattern);
  if (problem) throw invalid('pattern', `${problem} (a glob over whole tags: * any run, ? one character)`);
  if (kind === 'keep-latest' && count < 1) throw invalid('count', 'a keep-latest rule keeps at least 1 tag');
  if (kind === 'keep-recent' && days < 1) throw invalid('days', 'a keep-recent rule needs at least 1 day');
  return { kind, pattern, count: kind === 'keep-latest' ? count : 0, days: kind === 'keep-recent' ? days : 0 };
}

interface RuleRow {
  id: string;
  level: RetentionLevel;
  scope_id: string;
  kind: RuleKind;
  pattern: string;
  count: number;
  days: number;
  created_by: string;
  created_at: Date;
}

/** Every package's place in the hierarchy: the ids of its workspace, project, source repository and itself. */
export interface PackagePath {
  packageId: string;
  workspaceId: string;
  workspaceSlug: string;
  projectId: string;
  sourceRepositoryId: string;
  name: string;
  /** The OCI repository name ("<workspace>/<package>"). */
  repository: string;
}

export async function packagePath(db: Queryable, workspaceSlug: string, name: string): Promise<PackagePath> {
  const { rows } = await db.query<{ package_id: string; workspace_id: string; project_id: string; source_repository_id: string }>(
    `SELECT p.id AS package_id, w.id AS workspace_id, r.project_id, r.id AS source_repository_id
     FROM packages p JOIN workspaces w ON w.id = p.workspace_id JOIN source_repositories r ON r.id = p.repository_id
     WHERE w.slug = $1 AND p.name = $2`,
    [workspaceSlug, name],
  );
  const row = rows[0];
  if (!row) throw new RegistryError('NOT_FOUND', `package ${workspaceSlug}/${name.slice(0, 200)} does not exist`, { field: 'package_name' });
  return { packageId: row.package_id, workspaceId: row.workspace_id, workspaceSlug, projectId: row.project_id, sourceRepositoryId: row.source_repository_id, name, repository: `${workspaceSlug}/${name}` };
}

export function packageName(value: string | undefined): string {
  if (!value || value.length > 255 || !REPOSITORY_PATH.test(value)) throw invalid('package_name', 'must be an image name (lowercase path components)');
  return value;
}

/** Retention rules and opt-outs: created, listed, deleted, and the effective set of a package, each change audited in its transaction. */
export class RetentionRules {
  constructor(private readonly pool: Pool) {}

  /** A level named by slugs and ids, as it exists (NOT_FOUND otherwise). */
  async resolve(scope: ScopeRef): Promise<ResolvedScope> {
    const level = scope.level;
    if (!LEVELS.includes(level)) throw invalid('level', `must be one of ${LEVELS.join(', ')}`);
    const workspaceSlug = slug('workspace_slug', scope.workspaceSlug);
    const missing = (what: string, field: string) => new RegistryError('NOT_FOUND', `${what} does not exist`, { field });
    const { rows: workspaces } = await this.pool.query<{ id: string }>('SELECT id FROM workspaces WHERE slug = $1', [workspaceSlug]);
    const workspaceId = workspaces[0]?.id;
    if (!workspaceId) throw missing(`workspace ${workspaceSlug}`, 'workspace_slug');
    if (level === 'workspace') return { level, id: workspaceId, workspaceId, workspaceSlug, name: workspaceSlug };
    if (level === 'project') {
      const projectSlug = slug('project_slug', scope.projectSlug ?? '');
      const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM projects WHERE workspace_id = $1 AND slug = $2', [workspaceId, projectSlug]);
      if (!rows[0]) throw missing(`project ${workspaceSlug}/${projectSlug}`, 'project_slug');
      return { level, id: rows[0].id, workspaceId, workspaceSlug, name: `${workspaceSlug}/${projectSlug}` };
    }
    if (level === 'source-repository') {
      const id = uuid('source_repository_id', scope.sourceRepositoryId ?? '');
      const { rows } = await this.pool.query<{ name: string }>(
        'SELECT p.slug || \'/\' || r.slug AS name FROM source_repositories r JOIN projects p ON p.id = r.project_id WHERE r.id = $1 AND r.workspace_id = $2',
        [id, workspaceId],
      );
      if (!rows[0]) throw missing(`repository ${id}`, 'source_repository_id');
      return { level, id, workspaceId, workspaceSlug, name: `${workspaceSlug}/${rows[0].name}`, sourceRepositoryId: id };
    }
    const path = await packagePath(this.pool, workspaceSlug, packageName(scope.packageName));
    return { level, id: path.packageId, workspaceId, workspaceSlug, name: path.repository, sourceRepositoryId: path.sourceRepositoryId };
  }

  async create(scope: ResolvedScope, input: RuleInput, origin: ChangeOrigin): Promise<RetentionRuleRecord> {
    const rule = checkedRule(input);
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<RuleRow>(
        `INSERT INTO retention_rules (workspace_id, level, scope_id, kind, pattern, count, days, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [scope.workspaceId, scope.level, scope.id, rule.kind, rule.pattern, rule.count, rule.days, origin.userId],
      );
      const created = record(rows[0]!, scope.name);
      await recordAudit(client, origin, { action: 'retention-rule.created', workspace: scope.workspaceSlug, target: { type: 'retention-rule', id: created.id, name: scope.name }, after: summary(created) });
      return created;
    });
  }

  /** The rules set at one level (not inherited ones), with the opt-outs made there. */
  async listAt(scope: ResolvedScope): Promise<{ rules: RetentionRuleRecord[]; optedOut: string[] }> {
    const { rows } = await this.pool.query<RuleRow>('SELECT * FROM retention_rules WHERE scope_id = $1 ORDER BY created_at, id', [scope.id]);
    const { rows: outs } = await this.pool.query<{ rule_id: string }>('SELECT rule_id FROM retention_opt_outs WHERE scope_id = $1 ORDER BY rule_id', [scope.id]);
    return { rules: rows.map((row) => record(row, scope.name)), optedOut: outs.map((o) => o.rule_id) };
  }

  /** A rule by id within a workspace, with the scope it is set at. */
  async get(workspaceSlug: string, ruleId: string): Promise<{ rule: RetentionRuleRecord; scope: ResolvedScope }> {
    const { rows } = await this.pool.query<RuleRow & { workspace_id: string }>(
      'SELECT r.* FROM retention_rules r JOIN workspaces w ON w.id = r.workspace_id WHERE w.slug = $1 AND r.id = $2',
      [slug('workspace_slug', workspaceSlug), uuid('rule_id', ruleId)],
    );
    const row = rows[0];
    if (!row) throw new RegistryError('NOT_FOUND', `retention rule ${ruleId} does not exist`, { field: 'rule_id' });
    const scope = await this.scopeOf(row.level, row.scope_id, row.workspace_id, workspaceSlug);
    return { rule: record(row, scope.name), scope };
  }

  async delete(workspaceSlug: string, ruleId: string, origin: ChangeOrigin): Promise<RetentionRuleRecord> {
    const { rule, scope } = await this.get(workspaceSlug, ruleId);
    await inTransaction(this.pool, async (client) => {
      const deleted = await client.query('DELETE FROM retention_rules WHERE id = $1', [rule.id]);
      if (!deleted.rowCount) throw new RegistryError('NOT_FOUND', `retention rule ${ruleId} does not exist`, { field: 'rule_id' });
      await recordAudit(client, origin, { action: 'retention-rule.deleted', workspace: workspaceSlug, target: { type: 'retention-rule', id: rule.id, name: scope.name }, before: summary(rule) });
    });
    return rule;
  }

  /** A lower level stops (optOut true) or resumes inheriting a rule set above it. */
  async setOptOut(scope: ResolvedScope, ruleId: string, optOut: boolean, origin: ChangeOrigin): Promise<void> {
    const { rule } = await this.get(scope.workspaceSlug, ruleId);
    if (!(await this.inherits(scope, rule))) throw new RegistryError('FAILED_PRECONDITION', `rule ${rule.id} is not inherited by ${scope.name}: only a level below the rule's may opt out of it`, { field: 'rule_id' });
    await inTransaction(this.pool, async (client) => {
      const changed = optOut
        ? await client.query('INSERT INTO retention_opt_outs (rule_id, level, scope_id, created_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [rule.id, scope.level, scope.id, origin.userId])
        : await client.query('DELETE FROM retention_opt_outs WHERE rule_id = $1 AND scope_id = $2', [rule.id, scope.id]);
      if (changed.rowCount)
        await recordAudit(client, origin, {
          action: optOut ? 'retention-rule.opted-out' : 'retention-rule.opted-in',
          workspace: scope.workspaceSlug,
          target: { type: 'retention-rule', id: rule.id, name: scope.name },
          after: { level: scope.level, scope: scope.name, optedOut: optOut },
        });
    });
  }

  /** The rules that apply to a package, from every level above it, with where each comes from; opted-out ones are listed and marked. */
  async effective(path: PackagePath): Promise<EffectiveRule[]> {
    const scopeIds = [path.workspaceId, path.projectId, path.sourceRepositoryId, path.packageId];
    const { rows } = await this.pool.query<RuleRow & { scope_name: string; opted_out_level: string | null; opted_out_scope: string | null }>(
      `SELECT r.*,
              CASE r.level WHEN 'workspace' THEN w.slug WHEN 'project' THEN w.slug || '/' || pr.slug
                           WHEN 'source-repository' THEN w.slug || '/' || pr.slug || '/' || sr.slug ELSE w.slug || '/' || $4 END AS scope_name,
              o.level AS opted_out_level,
              CASE o.level WHEN 'project' THEN w.slug || '/' || pr.slug WHEN 'source-repository' THEN w.slug || '/' || pr.slug || '/' || sr.slug
                           WHEN 'package' THEN w.slug || '/' || $4 END AS opted_out_scope
       FROM retention_rules r
       JOIN workspaces w ON w.id = $1
       JOIN source_repositories sr ON sr.id = $2
       JOIN projects pr ON pr.id = sr.project_id
       LEFT JOIN LATERAL (SELECT level FROM retention_opt_outs o WHERE o.rule_id = r.id AND o.scope_id = ANY($3::uuid[])
                          ORDER BY array_position(ARRAY['project','source-repository','package'], o.level) LIMIT 1) o ON true
       WHERE r.workspace_id = $1 AND r.scope_id = ANY($3::uuid[])
       ORDER BY array_position(ARRAY['workspace','project','source-repository','package'], r.level), r.created_at, r.id`,
      [path.workspaceId, path.sourceRepositoryId, scopeIds, path.name],
    );
    return rows.map((row) => ({ ...record(row, row.scope_name), ...(row.opted_out_scope ? { optedOutAt: `${row.opted_out_level} ${row.opted_out_scope}` } : {}) }));
  }

  /** Whether a rule is set at a level strictly above `scope`, on its path. */
  private async inherits(scope: ResolvedScope, rule: RetentionRuleRecord): Promise<boolean> {
    if (LEVELS.indexOf(rule.level) >= LEVELS.indexOf(scope.level)) return false;
    const { rows } = await this.pool.query<{ above: string[] }>(
      `SELECT CASE $1::text
         WHEN 'project' THEN ARRAY[p.workspace_id]
         WHEN 'source-repository' THEN (SELECT ARRAY[r.workspace_id, r.project_id] FROM source_repositories r WHERE r.id = $2)
         WHEN 'package' THEN (SELECT ARRAY[pk.workspace_id, r.project_id, r.id] FROM packages pk JOIN source_repositories r ON r.id = pk.repository_id WHERE pk.id = $2)
       END AS above
       FROM (SELECT $3::uuid AS workspace_id) p`,
      [scope.level, scope.id, scope.workspaceId],
    );
    return (rows[0]?.above ?? []).includes(rule.scopeId);
  }

  private async scopeOf(level: RetentionLevel, id: string, workspaceId: string, workspaceSlug: string): Promise<ResolvedScope> {
    const name = async (): Promise<{ name: string; sourceRepositoryId?: string }> => {
      if (level === 'workspace') return { name: workspaceSlug };
      if (level === 'project') {
        const { rows } = await this.pool.query<{ slug: string }>('SELECT slug FROM projects WHERE id = $1', [id]);
        return { name: `${workspaceSlug}/${rows[0]?.slug ?? id}` };
      }
      if (level === 'source-repository') {
        const { rows } = await this.pool.query<{ name: string }>("SELECT p.slug || '/' || r.slug AS name FROM source_repositories r JOIN projects p ON p.id = r.project_id WHERE r.id = $1", [id]);
        return { name: `${workspaceSlug}/${rows[0]?.name ?? id}`, sourceRepositoryId: id };
      }
      const { rows } = await this.pool.query<{ name: string; repository_id: string }>('SELECT name, repository_id FROM packages WHERE id = $1', [id]);
      return { name: `${workspaceSlug}/${rows[0]?.name ?? id}`, sourceRepositoryId: rows[0]?.repository_id };
    };
    return { level, id, workspaceId, workspaceSlug, ...(await name()) };
  }
}

function record(row: RuleRow, scopeName: string): RetentionRuleRecord {
  const rule: EvaluatedRule = { id: row.id, kind: row.kind, pattern: row.pattern, count: row.count, days: row.days };
  return { ...rule, level: row.level, scopeId: row.scope_id, scopeName, description: describeRule(rule), createdBy: row.created_by, createdAt: row.created_at.toISOString() };
}

function summary(rule: RetentionRuleRecord) {
  return { level: rule.level, scope: rule.scopeName, kind: rule.kind, pattern: rule.pattern, count: rule.count, days: rule.days };
}
