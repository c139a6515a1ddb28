import type { Pool } from 'pg';
import { inTransaction } from '@ocireg/postgres';
import type { BlobStore } from '@ocireg/storage';
import type { GcAction } from './reviews';

/**
 * Frees the bytes of blobs a review marked for deletion (no repository links
 * them, and that decision has committed). Each blob under its row lock: a
 * push of the same digest waits, then finds no row and stores its own bytes;
 * a push that came first revived the row, which is then no longer marked.
 * The bytes go before the row, so a failure leaves a marked row to retry,
 * never a row without bytes.
 */
export async function freeMarkedBlobs(pool: Pool, store: BlobStore, limit: number): Promise<GcAction[]> {
  const freed: GcAction[] = [];
  while (freed.length < limit) {
    const action = await inTransaction(pool, async (client) => {
      const { rows } = await client.query<{ digest: string; size: string; storage_key: string }>(
        'SELECT digest, size, storage_key FROM blobs WHERE deleting_since IS NOT NULL ORDER BY deleting_since LIMIT 1 FOR UPDATE SKIP LOCKED',
      );
      const blob = rows[0];
      if (!blob) return undefined;
      await store.delete(blob.storage_key);
      await client.query('DELETE FROM blobs WHERE digest = $1', [blob.digest]);
      await client.query('UPDATE gc_totals SET blobs_deleted = blobs_deleted + 1, bytes_deleted = bytes_deleted + $1', [blob.size]);
      return { kind: 'blob', repository: '', digest: blob.digest, why: 'bytes freed', bytes: Number(blob.size) } satisfies GcAction;
    });
    if (!action) break;
    freed.push(action);
  }
  return freed;
}

/** Blobs marked for deletion whose bytes are not freed yet (a dry run's report, the status). */
export async function markedBlobs(pool: Pool, limit: number): Promise<GcAction[]> {
  const { rows } = await pool.query<{ digest: string; size: string }>('SELECT digest, size FROM blobs WHERE deleting_since IS NOT NULL ORDER BY deleting_since LIMIT $1', [limit]);
  return rows.map((row) => ({ kind: 'blob', repository: '', digest: row.digest, why: 'no repository links it (marked earlier)', bytes: Number(row.size) }));
}
