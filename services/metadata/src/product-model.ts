import type { Pool, PoolClient } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName } from '@ocireg/oci';
import { NO_ANNOUNCEMENTS, type AccessChanges } from './access-changes';
import { Access, roleOnSourceRepository } from './access';
import { findWorkspace, workspaceBySlug } from './lookups';
import { Memberships } from './memberships';
import { findPackage, insertPackage, Packages } from './packages';
import { Projects } from './projects';
import { SourceRepositories } from './source-repositories';
import { Workspaces } from './workspaces';
import { recordPackageLinked } from './outbox';
import { workspaceUsage } from './registry-metadata';
import { roleAllows } from './roles';
import { userId } from './validation';

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
  readonly packages: Packages;

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
    this.packages = new Packages(pool, changes);
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
    if (await findPackage(db, workspace.id, name.image)) return;
    if (workspace.createPackagesOnPush && workspace.defaultRepositoryId && workspace.organization) {
      const defaultRepositoryId = workspace.defaultRepositoryId;
      if (!(await this.mayPushTo(pusher, defaultRepositoryId, workspace.id, db))) {
        throw new RegistryError('DENIED', `creating ${repository} on push takes Write on the workspace's default repository`, { name: repository });
      }
      if (!options.create) return;
      const inserted = await insertPackage(options.db, workspace, name.image, defaultRepositoryId);
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

}
