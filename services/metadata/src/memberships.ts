import type { Pool } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import type { AccessChanges } from './access-changes';
import type { ChangeOrigin } from './change-origin';
import { sourceRepositoryById, type SourceRepositoryRecord } from './lookups';
import type { Role } from './roles';
import { userId, uuid } from './validation';

/**
 * Who holds which role on a source repository; its packages inherit it
 * (access.ts reads it). Each change is audited in its transaction (the role
 * before and after) and announced to `changes`.
 */
export class Memberships {
  constructor(private readonly pool: Pool, private readonly changes: AccessChanges) {}

  async set(sourceRepositoryId: string, user: string, role: Role, origin: ChangeOrigin): Promise<void> {
    const repository = await sourceRepositoryById(this.pool, uuid('source_repository_id', sourceRepositoryId));
    userId('user_id', user);
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ role: Role }>('SELECT role FROM repository_members WHERE repository_id = $1 AND user_id = $2 FOR UPDATE', [sourceRepositoryId, user]);
      const before = rows[0]?.role;
      if (before === role) return; // nothing changes, nothing is recorded
      await client.query(
        'INSERT INTO repository_members (repository_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (repository_id, user_id) DO UPDATE SET role = EXCLUDED.role',
        [sourceRepositoryId, user, role],
      );
      await recordAudit(client, origin, { action: 'member.role-set', workspace: repository.workspaceSlug, target: memberTarget(repository, user), before: { role: before ?? null }, after: { role } });
    });
    await this.changes.announce(`user:${user}`);
  }

  async list(sourceRepositoryId: string): Promise<Array<{ userId: string; role: Role }>> {
    await sourceRepositoryById(this.pool, uuid('source_repository_id', sourceRepositoryId));
    const { rows } = await this.pool.query<{ user_id: string; role: Role }>('SELECT user_id, role FROM repository_members WHERE repository_id = $1 ORDER BY user_id', [sourceRepositoryId]);
    return rows.map((row) => ({ userId: row.user_id, role: row.role }));
  }

  async remove(sourceRepositoryId: string, user: string, origin: ChangeOrigin): Promise<void> {
    const repository = await sourceRepositoryById(this.pool, uuid('source_repository_id', sourceRepositoryId));
    userId('user_id', user);
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ role: Role }>('DELETE FROM repository_members WHERE repository_id = $1 AND user_id = $2 RETURNING role', [sourceRepositoryId, user]);
      if (!rows[0]) throw new RegistryError('NOT_FOUND', `user ${user} has no role on repository ${sourceRepositoryId}`, { field: 'user_id' });
      await recordAudit(client, origin, { action: 'member.removed', workspace: repository.workspaceSlug, target: memberTarget(repository, user), before: { role: rows[0].role }, after: { role: null } });
    });
    await this.changes.announce(`user:${user}`);
  }
}

/** A member's entry names the user (target id) on the repository (target name). */
function memberTarget(repository: SourceRepositoryRecord, user: string) {
  return { type: 'member', id: user, name: `${repository.workspaceSlug}/${repository.projectSlug}/${repository.slug}` };
}
