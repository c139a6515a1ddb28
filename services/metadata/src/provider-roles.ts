import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import type { AccessChanges } from './access-changes';
import type { Role } from './roles';
import { userId } from './validation';

/** A role an identity provider's group gives: workspace admin (no sourceRepository), or a role on "<project>/<repository>". */
export interface ProviderGrant {
  workspaceSlug: string;
  sourceRepository: string;
  role: Role;
}

interface Resolved {
  workspaceId: string;
  repositoryId: string | null;
  role: Role;
}

const key = (g: { workspaceId: string; repositoryId: string | null; role: string }) => `${g.workspaceId}/${g.repositoryId ?? ''}/${g.role}`;

/**
 * The roles an identity provider's groups give a user, set at each sign-in:
 * what the groups give now is granted, what they gave last time and no longer
 * give is taken back (the provider's grants are the provider's to end);
 * roles given by hand stay. Grants naming a workspace or repository that does
 * not exist are skipped and reported.
 */
export class ProviderRoles {
  constructor(
    private readonly pool: Pool,
    private readonly changes: AccessChanges,
  ) {}

  async apply(user: string, provider: string, grants: ProviderGrant[]): Promise<{ applied: number; skipped: string[] }> {
    userId('user_id', user);
    if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(provider)) throw new RegistryError('INVALID_ARGUMENT', 'provider: must be an identity provider\'s name', { field: 'provider' });
    const skipped: string[] = [];
    const result = await inTransaction(this.pool, async (db) => {
      const wanted: Resolved[] = [];
      for (const grant of grants.slice(0, 200)) {
        const { rows } = await db.query<{ workspace_id: string; repository_id: string | null }>(
          `SELECT w.id AS workspace_id, r.id AS repository_id FROM workspaces w
           LEFT JOIN projects p ON p.workspace_id = w.id AND p.slug = split_part($2, '/', 1)
           LEFT JOIN source_repositories r ON r.project_id = p.id AND r.slug = split_part($2, '/', 2)
           WHERE w.slug = $1`,
          [grant.workspaceSlug, grant.sourceRepository],
        );
        const row = rows[0];
        if (!row || (grant.sourceRepository && !row.repository_id)) skipped.push(`${grant.workspaceSlug}${grant.sourceRepository ? `/${grant.sourceRepository}` : ''}`);
        else wanted.push({ workspaceId: row.workspace_id, repositoryId: grant.sourceRepository ? row.repository_id : null, role: grant.role });
      }
      const { rows: before } = await db.query<{ workspace_id: string; repository_id: string | null; role: Role }>('SELECT workspace_id, repository_id, role FROM identity_provider_roles WHERE provider = $1 AND user_id = $2', [provider, user]);
      const now = new Set(wanted.map(key));
      let changed = 0;
      for (const old of before.map((r) => ({ workspaceId: r.workspace_id, repositoryId: r.repository_id, role: r.role }))) {
        if (now.has(key(old))) continue;
        const removed = old.repositoryId
          ? await db.query('DELETE FROM repository_members WHERE repository_id = $1 AND user_id = $2 AND role = $3', [old.repositoryId, user, old.role])
          : await db.query('DELETE FROM workspace_admins WHERE workspace_id = $1 AND user_id = $2', [old.workspaceId, user]);
        changed += removed.rowCount ?? 0;
      }
      for (const grant of wanted) {
        const added = grant.repositoryId
          ? await db.query(
              `INSERT INTO repository_members (repository_id, user_id, role) VALUES ($1, $2, $3)
               ON CONFLICT (repository_id, user_id) DO UPDATE SET role = EXCLUDED.role WHERE repository_members.role <> EXCLUDED.role`,
              [grant.repositoryId, user, grant.role],
            )
          : await db.query('INSERT INTO workspace_admins (workspace_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [grant.workspaceId, user]);
        changed += added.rowCount ?? 0;
      }
      await db.query('DELETE FROM identity_provider_roles WHERE provider = $1 AND user_id = $2', [provider, user]);
      for (const grant of wanted) {
        await db.query('INSERT INTO identity_provider_roles (provider, user_id, workspace_id, repository_id, role) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [provider, user, grant.workspaceId, grant.repositoryId, grant.role]);
      }
      return { applied: wanted.length, changed };
    });
    if (result.changed > 0) await this.changes.announce(`user:${user}`);
    return { applied: result.applied, skipped };
  }
}
