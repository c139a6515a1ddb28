import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import type { AccessChanges } from './access-changes';
import { idempotentCreate } from './idempotency';
import { refuseIfAny, requireSourceRepositoryInWorkspace, toWorkspace, workspaceById, workspaceBySlug, type WorkspaceRecord, type WorkspaceRow } from './lookups';
import { page, type Page } from './paging';
import { decodePageToken, displayName, invalid, pageSize, slug, userId, uuid } from './validation';

/**
 * Workspaces: created by operators, set up by their admins (plan, quota,
 * public pull, packages created on push), deleted once empty. What changes
 * who may do what is announced to `changes`.
 */
export class Workspaces {
  constructor(private readonly pool: Pool, private readonly changes: AccessChanges) {}

  async create(input: { requestId: string; slug: string; name: string; organization: string }): Promise<WorkspaceRecord> {
    const workspaceSlug = slug('slug', input.slug);
    const name = displayName('name', input.name, workspaceSlug);
    return idempotentCreate(this.pool, input.requestId, 'workspace', async (client) => {
      const { rows } = await client.query<WorkspaceRow>(
        'INSERT INTO workspaces (slug, name, organization) VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING RETURNING *',
        [workspaceSlug, name, input.organization.trim()],
      );
      if (!rows[0]) throw new RegistryError('ALREADY_EXISTS', `workspace ${workspaceSlug} already exists`, { field: 'slug' });
      return { id: rows[0].id, value: toWorkspace(rows[0]) };
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
  ): Promise<WorkspaceRecord> {
    if (patch.plan !== undefined && !/^[a-z0-9-]{1,40}$/.test(patch.plan)) throw invalid('plan', 'must be 1-40 lowercase letters, digits and dashes');
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    if (patch.defaultSourceRepositoryId) await requireSourceRepositoryInWorkspace(this.pool, uuid('default_source_repository_id', patch.defaultSourceRepositoryId), workspace.id, 'default_source_repository_id');
    const { rows } = await this.pool.query<WorkspaceRow>(
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
    await this.changes.announce(`workspace:${workspace.slug}`);
    return toWorkspace(rows[0]!);
  }

  async addAdmin(workspaceSlug: string, user: string): Promise<void> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    await this.pool.query('INSERT INTO workspace_admins (workspace_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [workspace.id, userId('user_id', user)]);
    await this.changes.announce(`user:${user}`);
  }

  /** Deletes an empty workspace (no packages). */
  async delete(workspaceSlug: string): Promise<void> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    await refuseIfAny(this.pool, 'SELECT 1 FROM packages WHERE workspace_id = $1 LIMIT 1', [workspace.id], `workspace ${workspace.slug} still has packages; delete them first`);
    await this.pool.query('DELETE FROM workspaces WHERE id = $1', [workspace.id]);
    await this.changes.announce(`workspace:${workspace.slug}`);
  }
}
