import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import type { AccessChanges } from './access-changes';
import { sourceRepositoryById } from './lookups';
import type { Role } from './roles';
import { userId, uuid } from './validation';

/** Who holds which role on a source repository; its packages inherit it (access.ts reads it). Each change is announced to `changes`. */
export class Memberships {
  constructor(private readonly pool: Pool, private readonly changes: AccessChanges) {}

  async set(sourceRepositoryId: string, user: string, role: Role): Promise<void> {
    await sourceRepositoryById(this.pool, uuid('source_repository_id', sourceRepositoryId));
    await this.pool.query(
      'INSERT INTO repository_members (repository_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (repository_id, user_id) DO UPDATE SET role = EXCLUDED.role',
      [sourceRepositoryId, userId('user_id', user), role],
    );
    await this.changes.announce(`user:${user}`);
  }

  async list(sourceRepositoryId: string): Promise<Array<{ userId: string; role: Role }>> {
    await sourceRepositoryById(this.pool, uuid('source_repository_id', sourceRepositoryId));
    const { rows } = await this.pool.query<{ user_id: string; role: Role }>('SELECT user_id, role FROM repository_members WHERE repository_id = $1 ORDER BY user_id', [sourceRepositoryId]);
    return rows.map((row) => ({ userId: row.user_id, role: row.role }));
  }

  async remove(sourceRepositoryId: string, user: string): Promise<void> {
    const removed = await this.pool.query('DELETE FROM repository_members WHERE repository_id = $1 AND user_id = $2', [uuid('source_repository_id', sourceRepositoryId), userId('user_id', user)]);
    if (removed.rowCount === 0) throw new RegistryError('NOT_FOUND', `user ${user} has no role on repository ${sourceRepositoryId}`, { field: 'user_id' });
    await this.changes.announce(`user:${user}`);
  }
}
