import type { Pool } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import type { AccessChanges } from './access-changes';
import type { ChangeOrigin } from './change-origin';
import { idempotentCreate } from './idempotency';
import { refuseIfAny, requireSourceRepositoryInWorkspace, toWorkspace, workspaceById, workspaceBySlug, type WorkspaceRecord, type WorkspaceRow } from './lookups';
import { page, type Page } from './paging';
import { decodePageToken, displayName, invalid, pageSize, slug, userId, uuid } from './validation';

/**
 * Workspaces: created by operators, set up by their admins (plan, quota,
 * public pull, packages created on push), deleted once empty. What changes
 * who may do what is announced to `changes`; every change is audited in its
 * transaction.
 */
export class Workspaces {
  constructor(private readonly pool: Pool, private readonly changes: AccessChanges) {}

  async create(input: { requestId: string; slug: string; name: string; organization: string }, origin: ChangeOrigin): Promise<WorkspaceRecord> {
    const workspaceSlug = slug('slug', input.slug);
    const name = displayName('name', input.name, workspaceSlug);
    return idempotentCreate(this.pool, input.requestId, 'workspace', async (client) => {
      const { rows } = await client.query<WorkspaceRow>(
        'INSERT INTO workspaces (slug, name, organization) VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING RETURNING *',
        [workspaceSlug, name, input.organization.trim()],
      );
      if (!rows[0]) throw new RegistryError('ALREADY_EXISTS', `workspace ${workspaceSlug} already exists`, { field: 'slug' });
      const created = toWorkspace(rows[0]);
      await recordAudit(client, origin, { action: 'workspace.created', workspace: created.slug, target: { type: 'workspace', id: created.id, name: created.slug }, after: { name: created.name, organization: created.organization } });
      return { id: rows[0].id, value: created };
    }, (id) => workspaceById(this.pool, id));
  }

  get(workspaceSlug: string): Promise<WorkspaceRecord> {
    return workspaceBySlug(this.pool, workspaceSlug);
  }

  /**
   * A page of workspaces by slug: all of them, or with `visibleTo` only those
   * that user may see (public ones, and those where they are an admin, a
   * member of a repository or granted a package). The filter is part of the
   * query, so a page is never empty while visible workspaces follow it.
   */
  async list(size: number, token: string, visibleTo?: { userId: string }): Promise<Page<WorkspaceRecord>> {
    const limit = pageSize(size);
    if (visibleTo?.userId) userId('user_id', visibleTo.userId);
    // $3 NULL: every workspace.
    const { rows } = await this.pool.query<WorkspaceRow>(
      `SELECT w.* FROM workspaces w
       WHERE w.slug > $1
         AND ($3::text IS NULL
          OR w.public_pull
          OR EXISTS (SELECT 1 FROM workspace_admins a WHERE a.workspace_id = w.id AND a.user_id = $3)
          OR EXISTS (SELECT 1 FROM repository_members m JOIN source_repositories r ON r.id = m.repository_id WHERE r.workspace_id = w.id AND m.user_id = $3)
          OR EXISTS (SELECT 1 FROM package_grants g JOIN packages p ON p.id = g.package_id WHERE p.workspace_id = w.id AND g.user_id = $3))
       ORDER BY w.slug LIMIT $2`,
      [decodePageToken(token), limit + 1, visibleTo ? visibleTo.userId : null],
    );
    return page(rows.map(toWorkspace), limit, (w) => w.slug);
  }

  async updateSettings(
    workspaceSlug: string,
    patch: {
      publicPull?: boolean;
      createPackagesOnPush?: boolean;
      defaultSourceRepositoryId?: string;
      organization?: string;
      plan?: string;
      storageQuotaBytes?: number;
      unlimitedStorage?: boolean;
      keepUntaggedManifests?: boolean;
    },
    origin: ChangeOrigin,
  ): Promise<WorkspaceRecord> {
    if (patch.plan !== undefined && !/^[a-z0-9-]{1,40}$/.test(patch.plan)) throw invalid('plan', 'must be 1-40 lowercase letters, digits and dashes');
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    if (patch.defaultSourceRepositoryId) await requireSourceRepositoryInWorkspace(this.pool, uuid('default_source_repository_id', patch.defaultSourceRepositoryId), workspace.id, 'default_source_repository_id');
    const updated = await inTransaction(this.pool, async (client) => {
      // The settings as they are under the row lock: what the audit entry calls before.
      const { rows: locked } = await client.query<WorkspaceRow>('SELECT * FROM workspaces WHERE id = $1 FOR UPDATE', [workspace.id]);
      const current = locked[0] ? toWorkspace(locked[0]) : workspace;
      const { rows } = await client.query<WorkspaceRow>(
        `UPDATE workspaces SET
           public_pull = COALESCE($2, public_pull),
           create_packages_on_push = COALESCE($3, create_packages_on_push),
           default_repository_id = COALESCE($4, default_repository_id),
           organization = COALESCE($5, organization),
           plan = COALESCE($6, plan),
           storage_quota_bytes = CASE WHEN $8 THEN NULL ELSE COALESCE($7, storage_quota_bytes) END,
           keep_untagged_manifests = COALESCE($9, keep_untagged_manifests)
         WHERE id = $1 RETURNING *`,
        [
          workspace.id,
          patch.publicPull ?? null,
          patch.createPackagesOnPush ?? null,
          patch.defaultSourceRepositoryId || null,
          patch.organization?.trim() ?? null,
          patch.plan ?? null,
          patch.storageQuotaBytes ?? null,
          patch.unlimitedStorage ?? false,
          patch.keepUntaggedManifests ?? null,
        ],
      );
      const after = toWorkspace(rows[0]!);
      const changed = settingsChanged(current, after);
      if (changed) await recordAudit(client, origin, { action: 'workspace.settings-changed', workspace: workspace.slug, target: { type: 'workspace', id: workspace.id, name: workspace.slug }, ...changed });
      return after;
    });
    await this.changes.announce(`workspace:${workspace.slug}`);
    return updated;
  }

  async addAdmin(workspaceSlug: string, user: string, origin: ChangeOrigin): Promise<void> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    await inTransaction(this.pool, async (client) => {
      const added = await client.query('INSERT INTO workspace_admins (workspace_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [workspace.id, userId('user_id', user)]);
      // Already an admin: nothing changed, nothing recorded.
      if (added.rowCount) await recordAudit(client, origin, { action: 'workspace.admin-added', workspace: workspace.slug, target: { type: 'user', id: user }, after: { workspaceAdmin: true } });
    });
    await this.changes.announce(`user:${user}`);
  }

  /** Deletes an empty workspace (no packages). */
  async delete(workspaceSlug: string, origin: ChangeOrigin): Promise<void> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    await refuseIfAny(this.pool, 'SELECT 1 FROM packages WHERE workspace_id = $1 LIMIT 1', [workspace.id], `workspace ${workspace.slug} still has packages; delete them first`);
    await inTransaction(this.pool, async (client) => {
      const deleted = await client.query('DELETE FROM workspaces WHERE id = $1', [workspace.id]);
      if (deleted.rowCount) await recordAudit(client, origin, { action: 'workspace.deleted', workspace: workspace.slug, target: { type: 'workspace', id: workspace.id, name: workspace.slug }, before: { name: workspace.name } });
    });
    await this.changes.announce(`workspace:${workspace.slug}`);
  }
}

/** The settings a change touched, before and after; undefined when none changed. */
function settingsChanged(before: WorkspaceRecord, after: WorkspaceRecord): { before: Record<string, string | number | boolean | null>; after: Record<string, string | number | boolean | null> } | undefined {
  const fields = ['publicPull', 'createPackagesOnPush', 'defaultSourceRepositoryId', 'organization', 'plan', 'storageQuotaBytes', 'keepUntaggedManifests'] as const;
  const was: Record<string, string | number | boolean | null> = {};
  const now: Record<string, string | number | boolean | null> = {};
  for (const field of fields) {
    if (before[field] === after[field]) continue;
    was[field] = before[field] ?? null;
    now[field] = after[field] ?? null;
  }
  return Object.keys(now).length > 0 ? { before: was, after: now } : undefined;
}
