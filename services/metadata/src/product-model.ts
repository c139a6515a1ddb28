import type { Pool } from 'pg';
import { NO_ANNOUNCEMENTS, type AccessChanges } from './access-changes';
import { Access } from './access';
import { workspaceBySlug } from './lookups';
import { Memberships } from './memberships';
import { PackageCreationOnPush } from './package-creation-on-push';
import { Packages } from './packages';
import { Projects } from './projects';
import { SourceRepositories } from './source-repositories';
import { Workspaces } from './workspaces';
import { workspaceUsage } from './registry-metadata';

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
  readonly packagesOnPush: PackageCreationOnPush;

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
    this.packagesOnPush = new PackageCreationOnPush(pool);
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

}
