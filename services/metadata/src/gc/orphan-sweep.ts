import type { Pool } from 'pg';
import { inTransaction } from '@ocireg/postgres';
import type { BlobStore, StoredObject } from '@ocireg/storage';

/** Something in storage that no metadata row and no live upload needs. */
export interface Orphan {
  key: string;
  bytes: number;
  why: string;
}

const BATCH = 500;
/** Only one sweep at a time across replicas (a session advisory lock). */
const SWEEP_LOCK = 0x6f636967; // "ocig"

/**
 * Finds what crashes left in storage and removes it once older than the
 * grace period: blobs no metadata row names (a push that died between
 * placing its bytes and recording them) and what abandoned uploads left
 * (files, S3 tails, unfinished multipart uploads; the grace is longer than
 * any upload session may live). A blob is deleted under an exclusive lock
 * on its key, after checking again that no row names it; recording a blob
 * takes the same lock shared, so the two never cross.
 */
export async function sweepOrphans(pool: Pool, store: BlobStore, graceMs: number, dryRun: boolean): Promise<Orphan[] | undefined> {
  const session = await pool.connect();
  try {
    const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SWEEP_LOCK]);
    if (!rows[0]?.locked) return undefined; // another replica is sweeping
    try {
      const cutoff = new Date((await databaseNow(pool)).getTime() - graceMs);
      const orphans: Orphan[] = [];
      let batch: StoredObject[] = [];
      for await (const object of store.list('blobs/')) {
        if (object.modified >= cutoff) continue;
        batch.push(object);
        if (batch.length === BATCH) {
          orphans.push(...(await sweepBlobs(pool, store, batch, dryRun)));
          batch = [];
        }
      }
      orphans.push(...(await sweepBlobs(pool, store, batch, dryRun)));
      for (const upload of await store.staleUploads(cutoff)) {
        if (!dryRun) await store.removeStaleUpload(upload);
        orphans.push({ key: upload.key, bytes: upload.size, why: upload.multipartId ? 'an unfinished multipart upload past any session' : 'upload data past any session' });
      }
      if (!dryRun) await pool.query('UPDATE gc_totals SET orphans_deleted = orphans_deleted + $1, last_sweep_at = now()', [orphans.length]);
      return orphans;
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [SWEEP_LOCK]);
    }
  } finally {
    session.release();
  }
}

async function sweepBlobs(pool: Pool, store: BlobStore, objects: StoredObject[], dryRun: boolean): Promise<Orphan[]> {
  if (objects.length === 0) return [];
  const { rows } = await pool.query<{ storage_key: string }>('SELECT storage_key FROM blobs WHERE storage_key = ANY($1::text[])', [objects.map((object) => object.key)]);
  const known = new Set(rows.map((row) => row.storage_key));
  const orphans: Orphan[] = [];
  for (const object of objects.filter((candidate) => !known.has(candidate.key))) {
    const removed = dryRun || (await removeIfUnnamed(pool, store, object.key));
    if (removed) orphans.push({ key: object.key, bytes: object.size, why: 'no blob names it' });
  }
  return orphans;
}

async function removeIfUnnamed(pool: Pool, store: BlobStore, key: string): Promise<boolean> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
    if ((await client.query('SELECT 1 FROM blobs WHERE storage_key = $1', [key])).rowCount) return false; // recorded meanwhile
    await store.delete(key);
    return true;
  });
}

async function databaseNow(pool: Pool): Promise<Date> {
  const { rows } = await pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  return rows[0]!.now;
}
