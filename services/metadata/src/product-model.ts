import type { Pool, PoolClient } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName } from '@ocireg/oci';
import { inTransaction } from '@ocireg/postgres';
import { NO_ANNOUNCEMENTS, type AccessChanges } from './access-changes';
import { Access, OPERATOR, roleOnSourceRepository } from './access';
import { idempotentCreate } from './idempotency';
import {
  findWorkspace,
  refuseIfAny,
  requireSourceRepositoryInWorkspace,
  workspaceBySlug,
  type WorkspaceRecord,
} from './lookups';
import { Memberships } from './memberships';
import { page, type Page } from './paging';
import { Projects } from './projects';
import { SourceRepositories } from './source-repositories';
import { Workspaces } from './workspaces';
import { recordEvent, recordPackageLinked } from './outbox';
import { workspaceUsage } from './registry-metadata';
import { roleAllows, type PackageAction, type Role } from './roles';
import { decodePageToken, displayName, invalid, pageSize, slug, userId, uuid } from './validation';

export interface PackageRecord {
  id: string;
  workspaceSlug: string;
  name: string;
  repositoryId: string;
  createdAt: string;
}

/**
 * Workspaces, projects, repositories, memberships and packages: who may do
 * what with which image name. Inputs are validated before any SQL.
 */
export class ProductModel {
  readonly access: Access;
  readonly workspaces: Workspaces;
  readonly projects: Projects;
  readonly sourceRepositories: SourceRepositories;
  readonly memberships: Memberships;

  constructor(
    private readonly pool: Pool,
    /** Told about every change of who may do what, so gateways stop honouring older grants at once. */
    private readonly changes: AccessChanges = NO_ANNOUNCEMENTS,
  ) {
    this.access = new Access(pool);
    this.workspaces = new Workspaces(pool, changes);
    this.projects = new Projects(pool);
    this.sourceRepositories = new SourceRepositories(pool, changes);
    this.memberships = new Memberships(pool, changes);
  }

  async createPackage(input: { requestId: string; workspaceSlug: string; name: string; repositoryId: string; actorUserId: string }): Promise<PackageRecord> {
    const workspace = await workspaceBySlug(this.pool, input.workspaceSlug);
    const name = packageName(workspace.slug, input.name);
    const repositoryId = uuid('repository_id', input.repositoryId);
    await requireSourceRepositoryInWorkspace(this.pool, repositoryId, workspace.id, 'repository_id');
    await this.requireRepositoryAdmin(input.actorUserId, repositoryId, workspace.id, 'create-package');
    if (!workspace.organization) {
      throw new RegistryError('FAILED_PRECONDITION', `workspace ${workspace.slug} has no linked organization; link one before creating packages`, { field: 'workspace_slug' });
    }
    const created = await idempotentCreate(this.pool, input.requestId, 'package', async (client) => {
      const inserted = await this.insertPackage(client, workspace, name, repositoryId);
      if (!inserted) throw new RegistryError('ALREADY_EXISTS', `package ${workspace.slug}/${name} already exists`, { field: 'name' });
      await recordPackageLinked(client, workspace.slug, name, repositoryId, { actor: input.actorUserId, requestId: input.requestId });
      return { id: inserted.id, value: inserted };
    }, (id) => this.packageById(id));
    // Before, members' roles came from the workspace at large; now from the linked repository.
    await this.changes.announce(`workspace:${workspace.slug}`);
    return created;
  }

  async getPackage(workspaceSlug: string, name: string): Promise<PackageRecord> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const found = await this.findPackage(workspace.id, packageName(workspace.slug, name));
    if (!found) throw new RegistryError('NOT_FOUND', `package ${workspace.slug}/${name} does not exist`, { field: 'name' });
    return { ...found, workspaceSlug: workspace.slug };
  }

  /** Packages; with `only`, those linked to these source repositories or with these names. */
  async listPackages(workspaceSlug: string, size: number, token: string, only?: { repositoryIds: string[]; names: string[] }): Promise<Page<PackageRecord>> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const limit = pageSize(size);
    const { rows } = await this.pool.query<{ id: string; name: string; repository_id: string; created_at: Date }>(
      `SELECT id, name, repository_id, created_at FROM packages WHERE workspace_id = $1 AND name COLLATE "C" > $2
         AND ($4::boolean OR repository_id = ANY($5::uuid[]) OR name = ANY($6::text[]))
       ORDER BY name COLLATE "C" LIMIT $3`,
      [workspace.id, decodePageToken(token), limit + 1, only === undefined, only?.repositoryIds ?? [], only?.names ?? []],
    );
    const items = rows.map((row) => ({ id: row.id, workspaceSlug: workspace.slug, name: row.name, repositoryId: row.repository_id, createdAt: row.created_at.toISOString() }));
    return page(items, limit, (p) => p.name);
  }

  /** The packages behind OCI repository names of a workspace ("<workspace>/<name>"), by that name. */
  async packagesByRepositoryName(workspaceSlug: string, repositories: string[]): Promise<Map<string, { name: string; repositoryId: string }>> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const names = repositories.filter((r) => r.startsWith(`${workspace.slug}/`)).map((r) => r.slice(workspace.slug.length + 1));
    const { rows } = await this.pool.query<{ name: string; repository_id: string }>('SELECT name, repository_id FROM packages WHERE workspace_id = $1 AND name = ANY($2::text[])', [workspace.id, names]);
    return new Map(rows.map((row) => [`${workspace.slug}/${row.name}`, { name: row.name, repositoryId: row.repository_id }]));
  }

  async linkPackage(workspaceSlug: string, name: string, repositoryId: string, actor: string): Promise<PackageRecord> {
    const current = await this.getPackage(workspaceSlug, name);
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    await requireSourceRepositoryInWorkspace(this.pool, uuid('repository_id', repositoryId), workspace.id, 'repository_id');
    // Moving a package takes Admin on both ends.
    await this.requireRepositoryAdmin(actor, current.repositoryId, workspace.id, 'link-package');
    await this.requireRepositoryAdmin(actor, repositoryId, workspace.id, 'link-package');
    await inTransaction(this.pool, async (client) => {
      await client.query('UPDATE packages SET repository_id = $2, linked_at = now() WHERE id = $1', [current.id, repositoryId]);
      await recordPackageLinked(client, workspace.slug, current.name, repositoryId, { actor, requestId: '' });
    });
    await this.changes.announce(`workspace:${workspace.slug}`);
    return { ...current, repositoryId };
  }

  async setPackageGrant(workspaceSlug: string, name: string, user: string, role: Role | undefined): Promise<string> {
    const found = await this.getPackage(workspaceSlug, name);
    userId('user_id', user);
    if (role) {
      await this.pool.query(
        'INSERT INTO package_grants (package_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (package_id, user_id) DO UPDATE SET role = EXCLUDED.role',
        [found.id, user, role],
      );
    } else {
      await this.pool.query('DELETE FROM package_grants WHERE package_id = $1 AND user_id = $2', [found.id, user]);
    }
    await this.changes.announce(`user:${user}`);
    return found.id;
  }

  /** Deletes a package whose images are all deleted (it holds no manifest). */
  async deletePackage(workspaceSlug: string, name: string): Promise<void> {
    const found = await this.getPackage(workspaceSlug, name);
    await refuseIfAny(this.pool, 'SELECT 1 FROM manifests WHERE repository = $1 LIMIT 1', [`${found.workspaceSlug}/${found.name}`], `package ${found.workspaceSlug}/${found.name} still holds images; delete them first`);
    await inTransaction(this.pool, async (client) => {
      await client.query('DELETE FROM packages WHERE id = $1', [found.id]);
      await recordEvent(client, 'package.deleted', { workspace: found.workspaceSlug, repository: `${found.workspaceSlug}/${found.name}`, package: found.name }, { actor: '', requestId: '' });
    });
    await this.changes.announce(`workspace:${found.workspaceSlug}`);
  }

  /** Bytes stored by a workspace (each blob once) and by each of its repositories. */
  async storageUsage(workspaceSlug: string): Promise<{ workspaceBytes: number; storageQuotaBytes?: number; repositories: Array<{ repository: string; bytes: number }> }> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const { rows } = await this.pool.query<{ repository: string; bytes: string }>(
      `SELECT rb.repository, SUM(b.size) AS bytes FROM repository_blobs rb JOIN blobs b USING (digest)
       WHERE split_part(rb.repository, '/', 1) = $1 GROUP BY rb.repository ORDER BY rb.repository COLLATE "C"`,
      [workspace.slug],
    );
    return {
      workspaceBytes: await workspaceUsage(this.pool, workspace.slug),
      ...(workspace.storageQuotaBytes === undefined ? {} : { storageQuotaBytes: workspace.storageQuotaBytes }),
      repositories: rows.map((row) => ({ repository: row.repository, bytes: Number(row.bytes) })),
    };
  }

  /** Bytes stored by some repositories together, each blob once. */
  async bytesOf(repositories: string[]): Promise<number> {
    if (repositories.length === 0) return 0;
    const { rows } = await this.pool.query<{ bytes: string }>(
      'SELECT COALESCE(SUM(b.size), 0) AS bytes FROM blobs b WHERE b.digest IN (SELECT digest FROM repository_blobs WHERE repository = ANY($1::text[]))',
      [repositories],
    );
    return Number(rows[0]!.bytes);
  }

  /**
   * Pushing needs a package. It exists, or the workspace creates packages on
   * first push (linked to its default repository, for a pusher with Write
   * there), or the error says how to create it. Without `create` this only
   * checks (the gateway asks before it accepts bytes); with it, a missing
   * package is created on `db`: the transaction of the push's first write, so
   * a refused push creates nothing.
   */
  async ensurePackageForPush(repository: string, pusher: string, options: { create: false } | { create: true; db: PoolClient }): Promise<void> {
    const db = options.create ? options.db : this.pool;
    const name = parseRepositoryName(repository);
    const workspace = await findWorkspace(db, name.workspace);
    if (!workspace) {
      throw new RegistryError('NAME_UNKNOWN', `workspace "${name.workspace}" does not exist; an operator creates it with: registryctl workspace create ${name.workspace}`, { name: repository });
    }
    if (await this.findPackage(workspace.id, name.image, db)) return;
    if (workspace.createPackagesOnPush && workspace.defaultRepositoryId && workspace.organization) {
      const defaultRepositoryId = workspace.defaultRepositoryId;
      if (!(await this.mayPushTo(pusher, defaultRepositoryId, workspace.id, db))) {
        throw new RegistryError('DENIED', `creating ${repository} on push takes Write on the workspace's default repository`, { name: repository });
      }
      if (!options.create) return;
      const inserted = await this.insertPackage(options.db, workspace, name.image, defaultRepositoryId);
      if (inserted) await recordPackageLinked(options.db, workspace.slug, name.image, defaultRepositoryId, { actor: pusher, requestId: '' });
      return;
    }
    throw new RegistryError(
      'NAME_UNKNOWN',
      `package "${repository}" does not exist. An Admin of the repository it belongs to creates it first: registryctl package create ${workspace.slug} ${name.image} --repository <repository-id>`,
      { name: repository },
    );
  }

  /** Write or Admin on a repository, directly or as a workspace admin. */
  private async mayPushTo(user: string, repositoryId: string, workspaceId: string, db: Pool | PoolClient = this.pool): Promise<boolean> {
    if (!user) return false;
    userId('user_id', user);
    return roleAllows(await roleOnSourceRepository(db, user, repositoryId, workspaceId), 'push');
  }

  private async insertPackage(client: Pool | PoolClient, workspace: WorkspaceRecord, name: string, repositoryId: string): Promise<PackageRecord | undefined> {
    const { rows } = await client.query<{ id: string; created_at: Date }>(
      'INSERT INTO packages (workspace_id, name, repository_id) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, name) DO NOTHING RETURNING id, created_at',
      [workspace.id, name, repositoryId],
    );
    const row = rows[0];
    return row ? { id: row.id, workspaceSlug: workspace.slug, name, repositoryId, createdAt: row.created_at.toISOString() } : undefined;
  }

  private async findPackage(workspaceId: string, name: string, db: Pool | PoolClient = this.pool): Promise<Omit<PackageRecord, 'workspaceSlug'> | undefined> {
    const { rows } = await db.query<{ id: string; repository_id: string; created_at: Date }>('SELECT id, repository_id, created_at FROM packages WHERE workspace_id = $1 AND name = $2', [workspaceId, name]);
    const row = rows[0];
    return row ? { id: row.id, name, repositoryId: row.repository_id, createdAt: row.created_at.toISOString() } : undefined;
  }

  private async requireRepositoryAdmin(actor: string, repositoryId: string, workspaceId: string, action: PackageAction): Promise<void> {
    if (actor === OPERATOR) return;
    userId('actor_user_id', actor);
    const role = await roleOnSourceRepository(this.pool, actor, repositoryId, workspaceId);
    if (!roleAllows(role, action)) throw new RegistryError('DENIED', `user ${actor} is not an Admin of repository ${repositoryId}`);
  }

  private async packageById(id: string): Promise<PackageRecord> {
    const { rows } = await this.pool.query<{ id: string; name: string; repository_id: string; created_at: Date; workspace_slug: string }>(
      'SELECT p.id, p.name, p.repository_id, p.created_at, w.slug AS workspace_slug FROM packages p JOIN workspaces w ON w.id = p.workspace_id WHERE p.id = $1',
      [id],
    );
    const row = rows[0]!;
    return { id: row.id, name: row.name, repositoryId: row.repository_id, workspaceSlug: row.workspace_slug, createdAt: row.created_at.toISOString() };
  }

}

function packageName(workspaceSlug: string, name: string): string {
  try {
    return parseRepositoryName(`${workspaceSlug}/${name}`).image;
  } catch {
    throw invalid('name', 'must follow the OCI repository name grammar (lowercase path components separated by "/")');
  }
}
