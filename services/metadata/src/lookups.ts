import type { Pool, PoolClient } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { slug } from './validation';

/**
 * The records several aggregates read, and their loaders by key: a
 * workspace by slug or id, a source repository by id, whether a source
 * repository belongs to a workspace, and the refusal to delete what is not
 * empty. Each aggregate's own queries stay in its own file.
 */

/** The pool, or the client of a transaction under way. */
export type Queryable = Pool | PoolClient;

export interface WorkspaceRecord {
  id: string;
  slug: string;
  name: string;
  organization: string;
  publicPull: boolean;
  createPackagesOnPush: boolean;
  defaultSourceRepositoryId: string;
  createdAt: string;
  plan: string;
  /** Undefined: unlimited. */
  storageQuotaBytes?: number;
  /** Garbage collection keeps manifests left untagged (for those who pull by digest). */
  keepUntaggedManifests: boolean;
}

export interface ProjectRecord {
  id: string;
  workspaceSlug: string;
  slug: string;
  name: string;
}

export interface SourceRepositoryRecord extends ProjectRecord {
  projectSlug: string;
}

/** A workspace as `SELECT *` reads it. */
export interface WorkspaceRow {
  id: string;
  slug: string;
  name: string;
  organization: string;
  public_pull: boolean;
  create_packages_on_push: boolean;
  default_repository_id: string | null;
  created_at: Date;
  plan: string;
  storage_quota_bytes: string | null;
  keep_untagged_manifests: boolean;
}

export const toWorkspace = (row: WorkspaceRow): WorkspaceRecord => ({
  id: row.id,
  slug: row.slug,
  name: row.name,
  organization: row.organization,
  publicPull: row.public_pull,
  createPackagesOnPush: row.create_packages_on_push,
  defaultSourceRepositoryId: row.default_repository_id ?? '',
  createdAt: row.created_at.toISOString(),
  plan: row.plan,
  ...(row.storage_quota_bytes === null ? {} : { storageQuotaBytes: Number(row.storage_quota_bytes) }),
  keepUntaggedManifests: row.keep_untagged_manifests,
});

/** The workspace of a slug, or undefined; the slug is not checked (callers that name a field do). */
export async function findWorkspace(db: Queryable, workspaceSlug: string): Promise<WorkspaceRecord | undefined> {
  const { rows } = await db.query<WorkspaceRow>('SELECT * FROM workspaces WHERE slug = $1', [workspaceSlug]);
  return rows[0] ? toWorkspace(rows[0]) : undefined;
}

/** The workspace of a slug; INVALID_ARGUMENT or NOT_FOUND naming the field `slug`. */
export async function workspaceBySlug(db: Queryable, workspaceSlug: string): Promise<WorkspaceRecord> {
  const workspace = await findWorkspace(db, slug('slug', workspaceSlug));
  if (!workspace) throw new RegistryError('NOT_FOUND', `workspace ${workspaceSlug} does not exist`, { field: 'slug' });
  return workspace;
}

/** A workspace known to exist (an id this service handed out). */
export async function workspaceById(db: Queryable, id: string): Promise<WorkspaceRecord> {
  const { rows } = await db.query<WorkspaceRow>('SELECT * FROM workspaces WHERE id = $1', [id]);
  return toWorkspace(rows[0]!);
}

export async function sourceRepositoryById(db: Queryable, id: string): Promise<SourceRepositoryRecord> {
  const { rows } = await db.query<{ id: string; slug: string; name: string; project_slug: string; workspace_slug: string }>(
    `SELECT r.id, r.slug, r.name, p.slug AS project_slug, w.slug AS workspace_slug
     FROM source_repositories r JOIN projects p ON p.id = r.project_id JOIN workspaces w ON w.id = r.workspace_id WHERE r.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) throw new RegistryError('NOT_FOUND', `repository ${id} does not exist`, { field: 'source_repository_id' });
  return { id: row.id, slug: row.slug, name: row.name, projectSlug: row.project_slug, workspaceSlug: row.workspace_slug };
}

/** NOT_FOUND, naming `field`, unless the source repository belongs to the workspace. */
export async function requireSourceRepositoryInWorkspace(db: Queryable, sourceRepositoryId: string, workspaceId: string, field: string): Promise<void> {
  const { rowCount } = await db.query('SELECT 1 FROM source_repositories WHERE id = $1 AND workspace_id = $2', [sourceRepositoryId, workspaceId]);
  if (!rowCount) throw new RegistryError('NOT_FOUND', `repository ${sourceRepositoryId} does not exist in this workspace`, { field });
}

/** FAILED_PRECONDITION with `message` while the query finds anything (what still stands in the way of a delete). */
export async function refuseIfAny(db: Queryable, sql: string, params: unknown[], message: string): Promise<void> {
  const { rowCount } = await db.query(sql, params);
  if (rowCount) throw new RegistryError('FAILED_PRECONDITION', message);
}
