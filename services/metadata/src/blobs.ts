import type { Pool, PoolClient } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { parseDigest, parseRepositoryName } from '@ocireg/oci';
import { inTransaction } from '@ocireg/postgres';
import type { ChangeOrigin } from './change-origin';
import type { PackagesOnPush } from './package-creation-on-push';
import { enforceQuota } from './usage';

export interface BlobRecord {
  digest: string;
  size: number;
  storageKey: string;
}

/**
 * Blobs per repository: linked when pushed (within the workspace's quota),
 * looked up, and mounted from another repository. Removing a link is a
 * deletion (deletions.ts). Every input is validated before SQL. Blobs are
 * part of a push, whose manifest is the change the audit log records
 * (manifests.ts); a package created by a first blob is audited here.
 */
export class Blobs {
  constructor(
    private readonly pool: Pool,
    /** A link naming a pusher creates the package on their first push, in the link's transaction. */
    private readonly packages: PackagesOnPush,
  ) {}

  /**
   * Records a pushed blob in a repository. `alreadyExisted` says the digest
   * was stored before (under the returned key): the caller's copy may go. A
   * blob whose bytes a collector is freeing comes back to life with the
   * caller's bytes instead (see docs/garbage-collection.md).
   */
  async link(repository: string, blob: BlobRecord, pusher: string | undefined, origin: ChangeOrigin, pullThrough = false): Promise<{ blob: BlobRecord; alreadyExisted: boolean }> {
    parseRepositoryName(repository);
    parseDigest(blob.digest);
    return inTransaction(this.pool, async (client) => {
      if (pusher) await this.packages.ensure(repository, pusher, { create: true, db: client, origin, pullThrough });
      await enforceQuota(client, repository, blob.digest, blob.size, origin);
      // The orphan sweep deletes a storage key only under this lock, exclusively, and only while no row names the key.
      await client.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))', [blob.storageKey]);
      const stored = await lockOrInsertBlob(client, blob);
      await client.query(
        `INSERT INTO repository_blobs (repository, digest) VALUES ($1, $2)
         ON CONFLICT (repository, digest) DO UPDATE SET linked_at = now()`,
        [repository, blob.digest],
      );
      return stored;
    });
  }

  async stat(repository: string, digest: string): Promise<BlobRecord> {
    parseRepositoryName(repository);
    parseDigest(digest);
    const { rows } = await this.pool.query<{ size: string; storage_key: string }>(
      'SELECT b.size, b.storage_key FROM repository_blobs rb JOIN blobs b USING (digest) WHERE rb.repository = $1 AND rb.digest = $2',
      [repository, digest],
    );
    const row = rows[0];
    if (!row) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is unknown to ${repository}`, { digest });
    return { digest, size: Number(row.size), storageKey: row.storage_key };
  }

  /** Links a blob that `from` holds into `to`; BLOB_UNKNOWN when `from` does not hold it. */
  async mount(from: string, to: string, digest: string, pusher: string | undefined, origin: ChangeOrigin): Promise<BlobRecord> {
    parseRepositoryName(from);
    parseRepositoryName(to);
    parseDigest(digest);
    return inTransaction(this.pool, async (client) => {
      // The source link, locked: a collector cannot take it (and so the blob) while it is mounted elsewhere.
      const { rows } = await client.query<{ size: string; storage_key: string }>(
        'SELECT b.size, b.storage_key FROM repository_blobs rb JOIN blobs b USING (digest) WHERE rb.repository = $1 AND rb.digest = $2 FOR KEY SHARE OF rb',
        [from, digest],
      );
      const source = rows[0];
      if (!source) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is unknown to ${from}`, { digest });
      if (pusher) await this.packages.ensure(to, pusher, { create: true, db: client, origin });
      await enforceQuota(client, to, digest, Number(source.size), origin);
      await client.query('INSERT INTO repository_blobs (repository, digest) VALUES ($1, $2) ON CONFLICT (repository, digest) DO UPDATE SET linked_at = now()', [to, digest]);
      return { digest, size: Number(source.size), storageKey: source.storage_key };
    });
  }
}

/**
 * The blob row of `blob.digest`, locked for this transaction: inserted when
 * new, revived with the caller's bytes when a collector is freeing it.
 */
async function lockOrInsertBlob(client: PoolClient, blob: BlobRecord): Promise<{ blob: BlobRecord; alreadyExisted: boolean }> {
  for (;;) {
    const { rows } = await client.query<{ size: string; storage_key: string; deleting: boolean }>(
      'SELECT size, storage_key, deleting_since IS NOT NULL AS deleting FROM blobs WHERE digest = $1 FOR UPDATE',
      [blob.digest],
    );
    const existing = rows[0];
    if (existing && !existing.deleting) return { blob: { digest: blob.digest, size: Number(existing.size), storageKey: existing.storage_key }, alreadyExisted: true };
    if (existing) {
      // Its old bytes may be gone already (a collector that failed after deleting them): the new ones count.
      await client.query('UPDATE blobs SET deleting_since = NULL, storage_key = $2, size = $3 WHERE digest = $1', [blob.digest, blob.storageKey, blob.size]);
      return { blob, alreadyExisted: false };
    }
    const inserted = await client.query('INSERT INTO blobs (digest, size, storage_key) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING', [blob.digest, blob.size, blob.storageKey]);
    if (inserted.rowCount === 1) return { blob, alreadyExisted: false };
    // Inserted by a concurrent push in between: lock that row instead.
  }
}
