import type { Pool, PoolClient } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName } from '@ocireg/oci';
import { roleOnSourceRepository } from './access';
import type { ChangeOrigin } from './change-origin';
import { findWorkspace, type Queryable } from './lookups';
import { recordPackageLinked } from './outbox';
import { findPackage, insertPackage, recordPackageCreated } from './packages';
import { ensureCachePackage } from './upstreams/cache-packages';
import { roleAllows } from './roles';
import { userId } from './validation';

/** Only check (the gateway asks before it accepts bytes), or create a missing package on `db`, the push's transaction (audited with `origin`; `pullThrough` for a cache fill). */
export type PushPackageCheck = { create: false } | { create: true; db: PoolClient; origin: ChangeOrigin; pullThrough?: boolean };

/** What the registry's writes call with the pusher's first write (blobs.ts, manifests.ts). */
export interface PackagesOnPush {
  ensure(repository: string, pusher: string, options: PushPackageCheck): Promise<void>;
}

/** The package a push needs, created on first push when the workspace allows it. */
export class PackageCreationOnPush implements PackagesOnPush {
  constructor(private readonly pool: Pool) {}

  /**
   * Pushing needs a package. It exists, or the workspace creates packages on
   * first push (linked to its default repository, for a pusher with Write
   * there), or the error says how to create it. Without `create` this only
   * checks (the gateway asks before it accepts bytes); with it, a missing
   * package is created on `db`: the transaction of the push's first write, so
   * a refused push creates nothing.
   */
  async ensure(repository: string, pusher: string, options: PushPackageCheck): Promise<void> {
    const db = options.create ? options.db : this.pool;
    const name = parseRepositoryName(repository);
    const workspace = await findWorkspace(db, name.workspace);
    if (!workspace) {
      throw new RegistryError('NAME_UNKNOWN', `workspace "${name.workspace}" does not exist; an operator creates it with: registryctl workspace create ${name.workspace}`, { name: repository });
    }
    // A pull-through fill creates its package by the upstream's rules (upstreams/cache-packages.ts).
    if (options.create && options.pullThrough) return ensureCachePackage(options.db, workspace, name.image, pusher, options.origin);
    if (await findPackage(db, workspace.id, name.image)) return;
    if (workspace.createPackagesOnPush && workspace.defaultSourceRepositoryId && workspace.organization) {
      const defaultSourceRepositoryId = workspace.defaultSourceRepositoryId;
      if (!(await this.mayPushTo(pusher, defaultSourceRepositoryId, workspace.id, db))) {
        throw new RegistryError('DENIED', `creating ${repository} on push takes Write on the workspace's default repository`, { name: repository });
      }
      if (!options.create) return;
      const inserted = await insertPackage(options.db, workspace, name.image, defaultSourceRepositoryId);
      if (inserted) {
        await recordPackageLinked(options.db, workspace.slug, name.image, defaultSourceRepositoryId, options.origin);
        await recordPackageCreated(options.db, options.origin, inserted);
      }
      return;
    }
    throw new RegistryError(
      'NAME_UNKNOWN',
      `package "${repository}" does not exist. An Admin of the repository it belongs to creates it first: registryctl package create ${workspace.slug} ${name.image} --repository <repository-id>`,
      { name: repository },
    );
  }

  /** Write or Admin on a repository, directly or as a workspace admin. */
  private async mayPushTo(user: string, sourceRepositoryId: string, workspaceId: string, db: Queryable): Promise<boolean> {
    if (!user) return false;
    userId('user_id', user);
    return roleAllows(await roleOnSourceRepository(db, user, sourceRepositoryId, workspaceId), 'push');
  }
}
