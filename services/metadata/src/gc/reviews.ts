import type { PoolClient } from 'pg';
import { removeManifest } from '../manifest-removal';
import { systemOrigin } from '../change-origin';

/**
 * Deciding one queued review, inside the caller's transaction. A reviewer
 * never waits for a lock: it takes the row under review with SKIP LOCKED, and
 * a row someone else holds (a push, a delete) is looked at again a moment
 * later. So a collector can hold locks a push waits for, but never waits for
 * one a push holds: no deadlock, and a push never waits on a collection for
 * longer than one decision.
 */

export type ReviewKind = 'manifest' | 'blob-link' | 'blob';
export type ReviewReason = 'untagged' | 'parent-deleted' | 'subject-deleted' | 'unreferenced' | 'linked' | 'unlinked';

export interface Review {
  kind: ReviewKind;
  /** The OCI repository; '' for a blob. */
  repository: string;
  digest: string;
  reason: ReviewReason;
  enqueuedAt: Date;
}

export interface GcSettings {
  /** How long a manifest stays after its last tag went, before it is collected. */
  untaggedGraceMs: number;
  /** How long a blob link no manifest references stays (a push between its blob HEAD and its manifest PUT needs it). */
  blobGraceMs: number;
}

/** What a review did, or would do in a dry run: the dry run's report and the metrics. */
export interface GcAction {
  kind: ReviewKind;
  repository: string;
  digest: string;
  /** Why it goes, in words. */
  why: string;
  /** For a blob: the bytes its deletion frees. */
  bytes?: number;
}

export type Outcome =
  | { type: 'done'; action?: GcAction }
  /** Not due yet (a grace period): review again then. */
  | { type: 'later'; at: Date }
  /** Its row is locked by someone else: review again in a moment. */
  | { type: 'busy' };

const DONE: Outcome = { type: 'done' };
const BUSY: Outcome = { type: 'busy' };

/** Changes made by collection are recorded in events (no user) and the audit log as made by metadata's collector. */
const COLLECTOR = systemOrigin('metadata/gc', 'garbage-collection');

export function review(client: PoolClient, item: Review, settings: GcSettings): Promise<Outcome> {
  if (item.kind === 'manifest') return reviewManifest(client, item, settings);
  if (item.kind === 'blob-link') return reviewBlobLink(client, item, settings);
  return reviewBlob(client, item);
}

/**
 * A manifest goes when nothing keeps it: no tag, no index in its repository
 * naming it, and for a referrer (signature, SBOM) a subject that still
 * exists. A referrer whose subject is gone goes even if tagged. A manifest
 * left untagged goes after the grace period, unless its workspace keeps
 * untagged manifests; one whose index or subject was deleted goes at once.
 * A deleted tag, index or subject still in the restore window keeps it too.
 */
async function reviewManifest(client: PoolClient, item: Review, settings: GcSettings): Promise<Outcome> {
  const { repository, digest } = item;
  const { rows } = await client.query<{ subject_digest: string | null }>('SELECT subject_digest FROM manifests WHERE repository = $1 AND digest = $2 FOR UPDATE SKIP LOCKED', [repository, digest]);
  const manifest = rows[0];
  if (!manifest) return (await exists(client, 'SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2', [repository, digest])) ? BUSY : DONE;

  // Deleted tags and manifests still in the restore window (restore-window.ts) keep what they name, as live ones do.
  const { rows: facts } = await client.query<{ tagged: boolean; referenced: boolean; subject_alive: boolean; keep_untagged: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM tags WHERE repository = $1 AND digest = $2)
              OR EXISTS (SELECT 1 FROM deleted_tags WHERE repository = $1 AND digest = $2) AS tagged,
            EXISTS (SELECT 1 FROM manifest_references WHERE repository = $1 AND referenced_digest = $2 AND kind = 'manifest')
              OR EXISTS (SELECT 1 FROM deleted_manifest_references WHERE repository = $1 AND referenced_digest = $2 AND kind = 'manifest') AS referenced,
            EXISTS (SELECT 1 FROM manifests WHERE repository = $1 AND digest = $3)
              OR EXISTS (SELECT 1 FROM deleted_manifests WHERE repository = $1 AND digest = $3) AS subject_alive,
            COALESCE((SELECT keep_untagged_manifests FROM workspaces WHERE slug = split_part($1, '/', 1)), false) AS keep_untagged`,
    [repository, digest, manifest.subject_digest],
  );
  const { tagged, referenced, subject_alive: subjectAlive, keep_untagged: keepUntagged } = facts[0]!;

  let why: string;
  if (manifest.subject_digest && !subjectAlive) {
    why = `its subject ${manifest.subject_digest} was deleted`;
  } else if (tagged || referenced || subjectAlive) {
    return DONE;
  } else if (item.reason === 'untagged') {
    if (keepUntagged) return DONE;
    const due = new Date(item.enqueuedAt.getTime() + settings.untaggedGraceMs);
    if (due > (await databaseNow(client))) return { type: 'later', at: due };
    why = `untagged since ${item.enqueuedAt.toISOString()}`;
  } else if (item.reason === 'parent-deleted' || item.reason === 'subject-deleted') {
    why = 'the index naming it was deleted';
  } else {
    return DONE;
  }
  await removeManifest(client, repository, digest, COLLECTOR);
  return { type: 'done', action: { kind: 'manifest', repository, digest, why } };
}

/**
 * A repository's link to a blob goes when no manifest of the repository
 * references it and it has been so for the grace period since it was linked
 * (pushed or mounted) or last referenced.
 */
async function reviewBlobLink(client: PoolClient, item: Review, settings: GcSettings): Promise<Outcome> {
  const { repository, digest } = item;
  const { rows } = await client.query<{ linked_at: Date }>('SELECT linked_at FROM repository_blobs WHERE repository = $1 AND digest = $2 FOR UPDATE SKIP LOCKED', [repository, digest]);
  const link = rows[0];
  if (!link) return (await exists(client, 'SELECT 1 FROM repository_blobs WHERE repository = $1 AND digest = $2', [repository, digest])) ? BUSY : DONE;
  if (await exists(client, `SELECT 1 FROM manifest_references WHERE repository = $1 AND referenced_digest = $2 AND kind = 'blob'`, [repository, digest])) return DONE;
  // A deleted manifest still in the restore window keeps its blobs; its purge queues this review again.
  if (await exists(client, `SELECT 1 FROM deleted_manifest_references WHERE repository = $1 AND referenced_digest = $2 AND kind = 'blob'`, [repository, digest])) return DONE;
  const since = Math.max(link.linked_at.getTime(), item.enqueuedAt.getTime());
  const due = new Date(since + settings.blobGraceMs);
  if (due > (await databaseNow(client))) return { type: 'later', at: due };
  await client.query('DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2', [repository, digest]);
  const why = item.reason === 'linked' ? 'pushed, but no manifest came to reference it' : 'no manifest references it any more';
  return { type: 'done', action: { kind: 'blob-link', repository, digest, why } };
}

/**
 * A blob no repository links any more is marked for deletion; the blob
 * deleter frees its bytes after this transaction commits, and a push of the
 * same digest before that revives it.
 */
async function reviewBlob(client: PoolClient, item: Review): Promise<Outcome> {
  const { digest } = item;
  const { rows } = await client.query<{ size: string; deleting: boolean }>('SELECT size, deleting_since IS NOT NULL AS deleting FROM blobs WHERE digest = $1 FOR UPDATE SKIP LOCKED', [digest]);
  const blob = rows[0];
  if (!blob) return (await exists(client, 'SELECT 1 FROM blobs WHERE digest = $1', [digest])) ? BUSY : DONE;
  if (blob.deleting || (await exists(client, 'SELECT 1 FROM repository_blobs WHERE digest = $1', [digest]))) return DONE;
  await client.query('UPDATE blobs SET deleting_since = now() WHERE digest = $1', [digest]);
  return { type: 'done', action: { kind: 'blob', repository: '', digest, why: 'no repository links it', bytes: Number(blob.size) } };
}

async function exists(client: PoolClient, sql: string, values: unknown[]): Promise<boolean> {
  return ((await client.query(sql, values)).rowCount ?? 0) > 0;
}

/** The database's clock (the one enqueued_at and linked_at come from), not this process's. */
async function databaseNow(client: PoolClient): Promise<Date> {
  const { rows } = await client.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  return rows[0]!.now;
}
