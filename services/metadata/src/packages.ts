import type { Pool, PoolClient } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName } from '@ocireg/oci';
import { inTransaction } from '@ocireg/postgres';
import type { AccessChanges } from './access-changes';
import { OPERATOR, roleOnSourceRepository } from './access';
import type { ChangeOrigin } from './change-origin';
import { idempotentCreate } from './idempotency';
import { refuseIfAny, requireSourceRepositoryInWorkspace, workspaceBySlug, type Queryable, type WorkspaceRecord } from './lookups';
import { recordEvent, recordPackageLinked } from './outbox';
import { page, type Page } from './paging';
import { roleAllows, type PackageAction, type Role } from './roles';
import { decodePageToken, invalid, pageSize, userId, uuid } from './validation';

export interface PackageRecord {
  id: string;
  workspaceSlug: string;
  name: string;
  sourceRepositoryId: string;
  createdAt: string;
}

/**
 * Packages (one image name each) in a workspace, each linked to one source
 * repository whose roles it inherits, and the explicit grants that add to
 * them. Creating and linking take Admin on the source repositories involved;
 * a package is deleted once it holds no image. What changes who may do what
 * is announced to `changes`; every change is audited in its transaction.
 */
export class Packages {
  constructor(private readonly pool: Pool, private readonly changes: AccessChanges) {}

  async create(input: { requestId: string; workspaceSlug: string; name: string; sourceRepositoryId: string; actorUserId: string }, origin: ChangeOrigin): Promise<PackageRecord> {
    const workspace = await workspaceBySlug(this.pool, input.workspaceSlug);
    const name = packageName(workspace.slug, input.name);
    const sourceRepositoryId = uuid('source_repository_id', input.sourceRepositoryId);
    await requireSourceRepositoryInWorkspace(this.pool, sourceRepositoryId, workspace.id, 'source_repository_id');
    await this.requireSourceRepositoryAdmin(input.actorUserId, sourceRepositoryId, workspace.id, 'create-package');
    if (!workspace.organization) {
      throw new RegistryError('FAILED_PRECONDITION', `workspace ${workspace.slug} has no linked organization; link one before creating packages`, { field: 'workspace_slug' });
    }
    const created = await idempotentCreate(this.pool, input.requestId, 'package', async (client) => {
      const inserted = await insertPackage(client, workspace, name, sourceRepositoryId);
      if (!inserted) throw new RegistryError('ALREADY_EXISTS', `package ${workspace.slug}/${name} already exists`, { field: 'name' });
      await recordPackageLinked(client, workspace.slug, name, sourceRepositoryId, origin);
      await recordPackageCreated(client, origin, inserted);
      return { id: inserted.id, value: inserted };
    }, (id) => this.packageById(id));
    // Before, members' roles came from the workspace at large; now from the linked repository.
    await this.changes.announce(`workspace:${workspace.slug}`);
    return created;
  }

  async get(workspaceSlug: string, name: string): Promise<PackageRecord> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const found = await findPackage(this.pool, workspace.id, packageName(workspace.slug, name));
    if (!found) throw new RegistryError('NOT_FOUND', `package ${workspace.slug}/${name} does not exist`, { field: 'name' });
    return { ...found, workspaceSlug: workspace.slug };
  }

  /** Packages; with `only`, those linked to these source repositories or with these names. */
  async list(workspaceSlug: string, size: number, token: string, only?: { sourceRepositoryIds: string[]; names: string[] }): Promise<Page<PackageRecord>> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const limit = pageSize(size);
    const { rows } = await this.pool.query<{ id: string; name: string; repository_id: string; created_at: Date }>(
      `SELECT id, name, repository_id, created_at FROM packages WHERE workspace_id = $1 AND name COLLATE "C" > $2
         AND ($4::boolean OR repository_id = ANY($5::uuid[]) OR name = ANY($6::text[]))
       ORDER BY name COLLATE "C" LIMIT $3`,
      [workspace.id, decodePageToken(token), limit + 1, only === undefined, only?.sourceRepositoryIds ?? [], only?.names ?? []],
    );
    const items = rows.map((row) => ({ id: row.id, workspaceSlug: workspace.slug, name: row.name, sourceRepositoryId: row.repository_id, createdAt: row.created_at.toISOString() }));
    return page(items, limit, (p) => p.name);
  }

  /** The packages behind OCI repository names of a workspace ("<workspace>/<name>"), by that name. */
  async byRepositoryName(workspaceSlug: string, repositories: string[]): Promise<Map<string, { name: string; sourceRepositoryId: string }>> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const names = repositories.filter((r) => r.startsWith(`${workspace.slug}/`)).map((r) => r.slice(workspace.slug.length + 1));
    const { rows } = await this.pool.query<{ name: string; repository_id: string }>('SELECT name, repository_id FROM packages WHERE workspace_id = $1 AND name = ANY($2::text[])', [workspace.id, names]);
    return new Map(rows.map((row) => [`${workspace.slug}/${row.name}`, { name: row.name, sourceRepositoryId: row.repository_id }]));
  }

  async link(workspaceSlug: string, name: string, sourceRepositoryId: string, actor: string, origin: ChangeOrigin): Promise<PackageRecord> {
    const current = await this.get(workspaceSlug, name);
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    await requireSourceRepositoryInWorkspace(this.pool, uuid('source_repository_id', sourceRepositoryId), workspace.id, 'source_repository_id');
    // Moving a package takes Admin on both ends.
    await this.requireSourceRepositoryAdmin(actor, current.sourceRepositoryId, workspace.id, 'link-package');
    await this.requireSourceRepositoryAdmin(actor, sourceRepositoryId, workspace.id, 'link-package');
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ before: string }>('SELECT repository_id AS before FROM packages WHERE id = $1 FOR UPDATE', [current.id]);
      await client.query('UPDATE packages SET repository_id = $2, linked_at = now() WHERE id = $1', [current.id, sourceRepositoryId]);
      await recordPackageLinked(client, workspace.slug, current.name, sourceRepositoryId, origin);
      await recordAudit(client, origin, { action: 'package.linked', workspace: workspace.slug, target: packageTarget(current), before: { sourceRepositoryId: rows[0]?.before ?? current.sourceRepositoryId }, after: { sourceRepositoryId } });
    });
    await this.changes.announce(`workspace:${workspace.slug}`);
    return { ...current, sourceRepositoryId };
  }

  async setGrant(workspaceSlug: string, name: string, user: string, role: Role | undefined, origin: ChangeOrigin): Promise<string> {
    const found = await this.get(workspaceSlug, name);
    userId('user_id', user);
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ role: Role }>('SELECT role FROM package_grants WHERE package_id = $1 AND user_id = $2 FOR UPDATE', [found.id, user]);
      const before = rows[0]?.role;
      if (before === role) return; // nothing changes, nothing is recorded
      if (role) {
        await client.query(
          'INSERT INTO package_grants (package_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (package_id, user_id) DO UPDATE SET role = EXCLUDED.role',
          [found.id, user, role],
        );
      } else {
        await client.query('DELETE FROM package_grants WHERE package_id = $1 AND user_id = $2', [found.id, user]);
      }
      await recordAudit(client, origin, { action: 'package.grant-set', workspace: found.workspaceSlug, target: { type: 'package-grant', id: user, name: `${found.workspaceSlug}/${found.name}` }, before: { role: before ?? null }, after: { role: role ?? null } });
    });
    await this.changes.announce(`user:${user}`);
    return found.id;
  }

  /** Deletes a package whose images are all deleted (it holds no manifest). */
  async delete(workspaceSlug: string, name: string, origin: ChangeOrigin): Promise<void> {
    const found = await this.get(workspaceSlug, name);
    await refuseIfAny(this.pool, 'SELECT 1 FROM manifests WHERE repository = $1 LIMIT 1', [`${found.workspaceSlug}/${found.name}`], `package ${found.workspaceSlug}/${found.name} still holds images; delete them first`);
    await inTransaction(this.pool, async (client) => {
      const deleted = await client.query('DELETE FROM packages WHERE id = $1', [found.id]);
      if (!deleted.rowCount) return;
      await recordEvent(client, 'package.deleted', { workspace: found.workspaceSlug, repository: `${found.workspaceSlug}/${found.name}`, package: found.name }, origin);
      await recordAudit(client, origin, { action: 'package.deleted', workspace: found.workspaceSlug, target: packageTarget(found), before: { sourceRepositoryId: found.sourceRepositoryId } });
    });
    await this.changes.announce(`workspace:${found.workspaceSlug}`);
  }

  private async requireSourceRepositoryAdmin(actor: string, sourceRepositoryId: string, workspaceId: string, action: PackageAction): Promise<void> {
    if (actor === OPERATOR) return;
    userId('actor_user_id', actor);
    const role = await roleOnSourceRepository(this.pool, actor, sourceRepositoryId, workspaceId);
    if (!roleAllows(role, action)) throw new RegistryError('DENIED', `user ${actor} is not an Admin of repository ${sourceRepositoryId}`);
  }

  private async packageById(id: string): Promise<PackageRecord> {
    const { rows } = await this.pool.query<{ id: string; name: string; repository_id: string; created_at: Date; workspace_slug: string }>(
      'SELECT p.id, p.name, p.repository_id, p.created_at, w.slug AS workspace_slug FROM packages p JOIN workspaces w ON w.id = p.workspace_id WHERE p.id = $1',
      [id],
    );
    const row = rows[0]!;
    return { id: row.id, name: row.name, sourceRepositoryId: row.repository_id, workspaceSlug: row.workspace_slug, createdAt: row.created_at.toISOString() };
  }
}

/** The package of a name in a workspace, or undefined; `db` may be the transaction of a push. */
export async function findPackage(db: Queryable, workspaceId: string, name: string): Promise<Omit<PackageRecord, 'workspaceSlug'> | undefined> {
  const { rows } = await db.query<{ id: string; repository_id: string; created_at: Date }>('SELECT id, repository_id, created_at FROM packages WHERE workspace_id = $1 AND name = $2', [workspaceId, name]);
  const row = rows[0];
  return row ? { id: row.id, name, sourceRepositoryId: row.repository_id, createdAt: row.created_at.toISOString() } : undefined;
}

/** The audit entry of a new package (created by an Admin, or on first push), in the creating transaction. */
export async function recordPackageCreated(client: PoolClient, origin: ChangeOrigin, created: PackageRecord): Promise<void> {
  await recordAudit(client, origin, { action: 'package.created', workspace: created.workspaceSlug, target: packageTarget(created), after: { sourceRepositoryId: created.sourceRepositoryId } });
}

function packageTarget(p: { id: string; workspaceSlug: string; name: string }) {
  return { type: 'package', id: p.id, name: `${p.workspaceSlug}/${p.name}` };
}

/** Inserts a package unless the name is taken (then undefined). */
export async function insertPackage(db: Queryable, workspace: WorkspaceRecord, name: string, sourceRepositoryId: string): Promise<PackageRecord | undefined> {
  const { rows } = await db.query<{ id: string; created_at: Date }>(
    'INSERT INTO packages (workspace_id, name, repository_id) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, name) DO NOTHING RETURNING id, created_at',
    [workspace.id, name, sourceRepositoryId],
  );
  const row = rows[0];
  return row ? { id: row.id, workspaceSlug: workspace.slug, name, sourceRepositoryId, createdAt: row.created_at.toISOString() } : undefined;
}

function packageName(workspaceSlug: string, name: string): string {
  try {
    return parseRepositoryName(`${workspaceSlug}/${name}`).image;
  } catch {
    throw invalid('name', 'must follow the OCI repository name grammar (lowercase path components separated by "/")');
  }
}
