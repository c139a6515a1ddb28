import type { PoolClient } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { roleOnSourceRepository } from '../access';
import type { WorkspaceRecord } from '../lookups';
import { recordPackageLinked } from '../outbox';
import type { ChangeOrigin } from '../change-origin';
import { findPackage, insertPackage, recordPackageCreated } from '../packages';
import { roleAllows } from '../roles';
import { userId } from '../validation';

/**
 * The package a pull-through fill goes into: `<upstream>/<...>` in the
 * workspace, created on its first fill and linked to the upstream's source
 * repository, for a user who may pull there (Read, or Admin as a workspace
 * admin). The gateway fills only for users whose pull it has authorized.
 */
export async function ensureCachePackage(db: PoolClient, workspace: WorkspaceRecord, image: string, user: string, origin: ChangeOrigin): Promise<void> {
  if (await findPackage(db, workspace.id, image)) return;
  const upstreamName = image.split('/')[0]!;
  const { rows } = await db.query<{ repository_id: string }>('SELECT repository_id FROM upstreams WHERE workspace_id = $1 AND name = $2', [workspace.id, upstreamName]);
  const upstream = rows[0];
  if (!upstream || !image.includes('/')) throw new RegistryError('NAME_UNKNOWN', `${workspace.slug}/${image} is not served by an upstream of the workspace`, { name: `${workspace.slug}/${image}` });
  if (!user || !roleAllows(await roleOnSourceRepository(db, userId('user_id', user), upstream.repository_id, workspace.id), 'pull')) {
    throw new RegistryError('DENIED', `filling ${workspace.slug}/${image} from its upstream takes Read on the upstream's repository`, { name: `${workspace.slug}/${image}` });
  }
  const inserted = await insertPackage(db, workspace, image, upstream.repository_id);
  if (inserted) {
    await recordPackageLinked(db, workspace.slug, image, upstream.repository_id, origin);
    await recordPackageCreated(db, origin, inserted);
  }
}
