import type { Pool, PoolClient } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName } from '@ocireg/oci';
import type { ChangeOrigin } from './change-origin';
import { workspaceBySlug, type Queryable } from './lookups';
import { recordEvent } from './outbox';

/** The share of a quota past which a push announces that the workspace is nearly full (webhooks' quota.nearly-full). */
export const QUOTA_NEARLY_FULL = 0.9;

/**
 * Storage usage and quotas: the bytes a workspace and its repositories store
 * (each blob counted once), and the checks that keep a workspace within its
 * quota while blobs are linked (blobs.ts) and manifests pushed (manifests.ts).
 */
export class StorageUsage {
  constructor(private readonly pool: Pool) {}

  /** Bytes stored by a workspace (each blob once) and by each of its repositories. */
  async ofWorkspace(workspaceSlug: string): Promise<{ workspaceBytes: number; storageQuotaBytes?: number; repositories: Array<{ repository: string; bytes: number }> }> {
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

/** Bytes a workspace stores: each blob counted once, however many repositories link it. */
export async function workspaceUsage(db: Queryable, workspace: string): Promise<number> {
  const { rows } = await db.query<{ bytes: string }>(
    `SELECT COALESCE(SUM(b.size), 0) AS bytes FROM blobs b
     WHERE b.digest IN (SELECT digest FROM repository_blobs WHERE split_part(repository, '/', 1) = $1)`,
    [workspace],
  );
  return Number(rows[0]!.bytes);
}

async function quotaOf(client: PoolClient, workspace: string): Promise<number | undefined> {
  const { rows } = await client.query<{ storage_quota_bytes: string | null }>('SELECT storage_quota_bytes FROM workspaces WHERE slug = $1', [workspace]);
  const quota = rows[0]?.storage_quota_bytes;
  return quota === null || quota === undefined ? undefined : Number(quota);
}

function quotaExceeded(workspace: string, quota: number, usage: number, adding: number): RegistryError {
  return new RegistryError(
    'DENIED',
    `storage quota of workspace ${workspace} exceeded: ${quota} bytes allowed, ${usage} used${adding ? `, this blob needs ${adding} more` : ''}`,
    { quota, usage },
    403,
  );
}

/**
 * A blob new to its workspace must fit in the workspace's quota. The lock
 * serializes concurrent links in one workspace, so two uploads cannot both
 * take the last bytes.
 */
export async function enforceQuota(client: PoolClient, repository: string, digest: string, size: number, origin: ChangeOrigin): Promise<void> {
  const name = parseRepositoryName(repository);
  const workspace = name.workspace;
  const quota = await quotaOf(client, workspace);
  if (quota === undefined) return;
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`quota:${workspace}`]);
  const { rowCount } = await client.query("SELECT 1 FROM repository_blobs WHERE split_part(repository, '/', 1) = $1 AND digest = $2 LIMIT 1", [workspace, digest]);
  if (rowCount) return; // already counted in this workspace
  const usage = await workspaceUsage(client, workspace);
  if (usage + size > quota) throw quotaExceeded(workspace, quota, usage, size);
  // Crossing the nearly-full line (not every push above it): one event, in this transaction.
  const line = quota * QUOTA_NEARLY_FULL;
  if (usage < line && usage + size >= line) {
    await recordEvent(client, 'quota.nearly-full', { workspace, repository, package: name.image, digest, summary: { usedBytes: usage + size, quotaBytes: quota, percent: Math.floor(((usage + size) / quota) * 100) } }, origin);
  }
}

/** Manifest pushes stop once a workspace is over its quota (a lowered quota, or a race at the boundary). */
export async function refuseOverQuota(client: PoolClient, repository: string): Promise<void> {
  const workspace = parseRepositoryName(repository).workspace;
  const quota = await quotaOf(client, workspace);
  if (quota === undefined) return;
  const usage = await workspaceUsage(client, workspace);
  if (usage > quota) throw quotaExceeded(workspace, quota, usage, 0);
}
