import type { Pool, PoolClient } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { describeManifest, parseRepositoryName } from '@ocireg/oci';
import { inTransaction } from '@ocireg/postgres';
import type { AccessChanges } from './access-changes';
import type { ChangeOrigin } from './change-origin';
import { recordEvent } from './outbox';

/**
 * The restore window (docs/lifecycle-restore.md): deletions of tags,
 * manifests and images (deletions.ts) move their rows into trash tables in
 * their own transaction; they are listed ("recently deleted"), restored with
 * the same digests, or purged once the window ends, after which garbage
 * collection frees what they kept (gc/reviews.ts treats what trashed rows
 * reference as in use; the migration's triggers queue the reviews on purge).
 */

export const DEFAULT_RESTORE_WINDOW_SECONDS = 7 * 24 * 3600;

export type DeletionKind = 'tag' | 'manifest' | 'image';

export interface DeletionRecord {
  id: string;
  kind: DeletionKind;
  repository: string;
  deletedAt: Date;
  restorableUntil: Date;
  actor: { userId: string; email: string; service: string };
  tags: Array<{ tag: string; digest: string }>;
  manifests: Array<{ digest: string; mediaType: string; size: number }>;
  /** The blobs its manifests (for a tag deletion: the manifests its tags named) reference, each once: at most what collection frees after the window. */
  bytes: number;
}

export interface RestoreWindowUsage {
  /** Bytes of the workspace's blobs that only deletions in the window still reference: collection frees them once the window ends. */
  bytes: number;
  deletions: number;
  manifests: number;
  tags: number;
}

export interface RestoreResult {
  deletion: DeletionRecord;
  manifests: string[];
  tags: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LIST_LIMIT = 500;

/**
 * Opens a deletion in the caller's transaction: a row grouping what one
 * delete operation removes. Undefined when the window is 0 (deletes are final).
 */
export async function openDeletion(client: PoolClient, windowSeconds: number, repository: string, kind: DeletionKind, origin: ChangeOrigin): Promise<string | undefined> {
  if (windowSeconds <= 0) return undefined;
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO deletions (repository, kind, restorable_until, actor_user_id, actor_email, actor_service)
     VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5, $6) RETURNING id`,
    [repository, kind, windowSeconds, origin.userId, origin.email, origin.actorService],
  );
  return rows[0]!.id;
}

/** Copies manifests (whole rows and references) and the tags naming them into the deletion, before the caller deletes them. */
export async function trashManifests(client: PoolClient, deletionId: string, repository: string, digests: string[]): Promise<void> {
  await client.query(
    `INSERT INTO deleted_manifests (deletion_id, repository, digest, media_type, content, size, created_at, subject_digest, artifact_type, annotations, platform, config_created, last_pulled_at)
     SELECT $1, repository, digest, media_type, content, size, created_at, subject_digest, artifact_type, annotations, platform, config_created, last_pulled_at
     FROM manifests WHERE repository = $2 AND digest = ANY($3::text[])`,
    [deletionId, repository, digests],
  );
  await client.query(
    `INSERT INTO deleted_manifest_references (deletion_id, repository, manifest_digest, referenced_digest, kind)
     SELECT $1, repository, manifest_digest, referenced_digest, kind FROM manifest_references WHERE repository = $2 AND manifest_digest = ANY($3::text[])`,
    [deletionId, repository, digests],
  );
  await client.query(
    `INSERT INTO deleted_tags (deletion_id, repository, name, digest, updated_at, last_pulled_at)
     SELECT $1, repository, name, digest, updated_at, last_pulled_at FROM tags WHERE repository = $2 AND digest = ANY($3::text[])`,
    [deletionId, repository, digests],
  );
}

/** Copies one tag into the deletion, before the caller deletes it. */
export async function trashTag(client: PoolClient, deletionId: string, repository: string, tag: string): Promise<void> {
  await client.query(
    `INSERT INTO deleted_tags (deletion_id, repository, name, digest, updated_at, last_pulled_at)
     SELECT $1, repository, name, digest, updated_at, last_pulled_at FROM tags WHERE repository = $2 AND name = $3`,
    [deletionId, repository, tag],
  );
}

export class RestoreWindow {
  constructor(
    private readonly pool: Pool,
    /** Told after a restore ("content:<workspace>"), so gateways drop cached answers (a cached "unknown" included). */
    private readonly changes: AccessChanges,
  ) {}

  /** Deletions still in the window, newest first: of one package (repository) or of a whole workspace. */
  async list(filter: { workspace: string; repository?: string }): Promise<DeletionRecord[]> {
    const { rows } = await this.pool.query<DeletionRow>(
      filter.repository
        ? `SELECT * FROM deletions WHERE repository = $1 AND restorable_until > now() ORDER BY deleted_at DESC, id LIMIT ${LIST_LIMIT}`
        : `SELECT * FROM deletions WHERE split_part(repository, '/', 1) = $1 AND restorable_until > now() ORDER BY deleted_at DESC, id LIMIT ${LIST_LIMIT}`,
      [filter.repository ?? filter.workspace],
    );
    return this.describe(this.pool, rows);
  }

  /** One deletion (in the window or not, as long as it was not purged); NOT_FOUND otherwise. */
  async get(id: string): Promise<DeletionRecord> {
    if (!UUID.test(id)) throw new RegistryError('INVALID_ARGUMENT', 'deletion_id: must be a deletion id (a UUID)', { field: 'deletion_id' });
    const { rows } = await this.pool.query<DeletionRow>('SELECT * FROM deletions WHERE id = $1', [id]);
    if (!rows[0]) throw notFound(id);
    return (await this.describe(this.pool, rows))[0]!;
  }

  /**
   * Puts a deletion's manifests and tags back, with the same digests, and the
   * events a push emits (manifest.pushed, tag.updated), audited as
   * image.restored or tag.restored. Refused (FAILED_PRECONDITION, nothing
   * restored) when the window ended, when a tag was pushed again meanwhile
   * pointing to another digest, or when what a manifest references is gone.
   */
  async restore(id: string, origin: ChangeOrigin): Promise<RestoreResult> {
    if (!UUID.test(id)) throw new RegistryError('INVALID_ARGUMENT', 'deletion_id: must be a deletion id (a UUID)', { field: 'deletion_id' });
    const result = await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<DeletionRow & { open: boolean }>('SELECT *, restorable_until > now() AS open FROM deletions WHERE id = $1 FOR UPDATE', [id]);
      const row = rows[0];
      if (!row) throw notFound(id);
      if (!row.open) throw new RegistryError('FAILED_PRECONDITION', `the restore window of deletion ${id} ended at ${row.restorable_until.toISOString()}`, { deletionId: id });
      const deletion = (await this.describe(client, [row]))[0]!;
      const { repository } = row;
      const name = parseRepositoryName(repository);
      const restoring = new Set(deletion.manifests.map((m) => m.digest));

      // Tags first: one pushed again meanwhile to another digest refuses the whole restore.
      const tagNames = deletion.tags.map((t) => t.tag);
      const { rows: current } = await client.query<{ name: string; digest: string }>('SELECT name, digest FROM tags WHERE repository = $1 AND name = ANY($2::text[]) ORDER BY name FOR UPDATE', [repository, tagNames]);
      const wanted = new Map(deletion.tags.map((t) => [t.tag, t.digest]));
      const moved = current.filter((t) => wanted.get(t.name) !== t.digest);
      if (moved.length > 0) {
        const shown = moved.slice(0, 5).map((t) => `${t.name} (now ${t.digest})`).join(', ');
        throw new RegistryError('FAILED_PRECONDITION', `cannot restore deletion ${id}: tag(s) ${shown} were pushed again meanwhile and point elsewhere; delete or move them first`, {
          deletionId: id,
          tags: moved.slice(0, 10).map((t) => t.name),
        });
      }
      const alreadyTagged = new Set(current.map((t) => t.name));

      // Manifests: those not pushed again meanwhile go back with their references.
      const { rows: live } = await client.query<{ digest: string }>('SELECT digest FROM manifests WHERE repository = $1 AND digest = ANY($2::text[]) FOR UPDATE', [repository, [...restoring]]);
      const present = new Set(live.map((m) => m.digest));
      const inserting = [...restoring].filter((d) => !present.has(d));
      await this.requireReferenced(client, id, repository, inserting, restoring);
      // Tags of a tag deletion name manifests that must still exist (kept by collection while the tag is in the window).
      const tagTargets = [...new Set(deletion.tags.map((t) => t.digest))].filter((d) => !restoring.has(d));
      if (tagTargets.length > 0) {
        const { rows: found } = await client.query<{ digest: string }>('SELECT digest FROM manifests WHERE repository = $1 AND digest = ANY($2::text[]) FOR KEY SHARE', [repository, tagTargets]);
        const missing = tagTargets.filter((d) => !found.some((f) => f.digest === d));
        if (missing.length > 0) throw new RegistryError('FAILED_PRECONDITION', `cannot restore deletion ${id}: manifest ${missing[0]} was deleted too; restore its deletion first`, { deletionId: id, missing: missing.slice(0, 10) });
      }

      const { rows: manifests } = await client.query<TrashedManifestRow>('SELECT * FROM deleted_manifests WHERE deletion_id = $1 AND digest = ANY($2::text[]) ORDER BY digest', [id, inserting]);
      const target = { workspace: name.workspace, repository, package: name.image };
      for (const m of manifests) {
        await client.query(
          `INSERT INTO manifests (repository, digest, media_type, content, size, created_at, subject_digest, artifact_type, annotations, platform, config_created, last_pulled_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [repository, m.digest, m.media_type, m.content, m.size, m.created_at, m.subject_digest, m.artifact_type, m.annotations === null ? null : JSON.stringify(m.annotations), m.platform, m.config_created, m.last_pulled_at],
        );
      }
      if (inserting.length > 0) {
        await client.query(
          `INSERT INTO manifest_references (repository, manifest_digest, referenced_digest, kind)
           SELECT repository, manifest_digest, referenced_digest, kind FROM deleted_manifest_references WHERE deletion_id = $1 AND manifest_digest = ANY($2::text[])`,
          [id, inserting],
        );
      }
      for (const m of manifests) {
        const manifest = describeManifest({ mediaType: m.media_type, content: m.content, platform: m.platform ?? undefined, created: m.config_created?.toISOString() });
        await recordEvent(client, 'manifest.pushed', { ...target, digest: m.digest, mediaType: m.media_type, size: Number(m.size), manifest }, origin);
      }

      const restoringTags = deletion.tags.filter((t) => !alreadyTagged.has(t.tag));
      const { rows: trashedTags } = await client.query<{ name: string; digest: string; updated_at: Date; last_pulled_at: Date | null }>(
        'SELECT name, digest, updated_at, last_pulled_at FROM deleted_tags WHERE deletion_id = $1 AND name = ANY($2::text[]) ORDER BY name',
        [id, restoringTags.map((t) => t.tag)],
      );
      const sizes = new Map<string, { mediaType: string; size: number }>();
      if (trashedTags.length > 0) {
        const { rows: described } = await client.query<{ digest: string; media_type: string; size: string }>('SELECT digest, media_type, size FROM manifests WHERE repository = $1 AND digest = ANY($2::text[])', [repository, trashedTags.map((t) => t.digest)]);
        for (const d of described) sizes.set(d.digest, { mediaType: d.media_type, size: Number(d.size) });
      }
      for (const t of trashedTags) {
        await client.query('INSERT INTO tags (repository, name, digest, updated_at, last_pulled_at) VALUES ($1, $2, $3, $4, $5)', [repository, t.name, t.digest, t.updated_at, t.last_pulled_at]);
        const facts = sizes.get(t.digest);
        await recordEvent(client, 'tag.updated', { ...target, digest: t.digest, ...(facts ? { mediaType: facts.mediaType, size: facts.size } : {}), tag: t.name }, origin);
      }

      await recordAudit(client, origin, {
        action: deletion.kind === 'tag' ? 'tag.restored' : 'image.restored',
        workspace: name.workspace,
        target: { type: 'deletion', id, name: repository },
        after: { kind: deletion.kind, manifests: inserting, tags: trashedTags.map((t) => t.name), deletedAt: deletion.deletedAt.toISOString() },
      });
      // Out of the window: the triggers queue reviews, which find the rows back in place.
      await client.query('DELETE FROM deletions WHERE id = $1', [id]);
      return { deletion, manifests: inserting, tags: trashedTags.map((t) => t.name) };
    });
    await this.changes.announce(`content:${parseRepositoryName(result.deletion.repository).workspace}`);
    return result;
  }

  /** Deletes up to `batch` deletions whose window ended; garbage collection then frees what only they kept. */
  async purgeExpired(batch: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM deletions WHERE id IN (SELECT id FROM deletions WHERE restorable_until <= now() ORDER BY restorable_until LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [batch],
    );
    return rowCount ?? 0;
  }

  /** What the window holds in a workspace (or in some of its repositories): bytes only deletions still reference, and counts. */
  async usage(workspace: string, repositories?: string[]): Promise<RestoreWindowUsage> {
    const scope = repositories ? 'repository = ANY($2::text[])' : "split_part(repository, '/', 1) = $1";
    const values = repositories ? [workspace, repositories] : [workspace];
    const { rows } = await this.pool.query<{ bytes: string; deletions: string; manifests: string; tags: string }>(
      `WITH d AS (SELECT id, repository FROM deletions WHERE split_part(repository, '/', 1) = $1 AND ${scope})
       SELECT (SELECT count(*) FROM d) AS deletions,
              (SELECT count(*) FROM deleted_manifests WHERE deletion_id IN (SELECT id FROM d)) AS manifests,
              (SELECT count(*) FROM deleted_tags WHERE deletion_id IN (SELECT id FROM d)) AS tags,
              (SELECT COALESCE(sum(b.size), 0) FROM blobs b WHERE b.digest IN (
                 SELECT r.referenced_digest FROM deleted_manifest_references r WHERE r.kind = 'blob' AND r.deletion_id IN (SELECT id FROM d)
                 EXCEPT
                 SELECT mr.referenced_digest FROM manifest_references mr WHERE mr.kind = 'blob' AND split_part(mr.repository, '/', 1) = $1)) AS bytes`,
      values,
    );
    const row = rows[0]!;
    return { bytes: Number(row.bytes), deletions: Number(row.deletions), manifests: Number(row.manifests), tags: Number(row.tags) };
  }

  /** Every digest a restored manifest references must be there: restored with it, still stored, or (blobs) still linked. */
  private async requireReferenced(client: PoolClient, id: string, repository: string, inserting: string[], restoring: Set<string>): Promise<void> {
    if (inserting.length === 0) return;
    const { rows: missing } = await client.query<{ referenced_digest: string; kind: string }>(
      `SELECT r.referenced_digest, r.kind FROM deleted_manifest_references r
       WHERE r.deletion_id = $1 AND r.manifest_digest = ANY($3::text[]) AND NOT (r.kind = 'manifest' AND r.referenced_digest = ANY($4::text[]))
         AND NOT EXISTS (SELECT 1 FROM manifests m WHERE r.kind = 'manifest' AND m.repository = $2 AND m.digest = r.referenced_digest)
         AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE r.kind = 'blob' AND rb.repository = $2 AND rb.digest = r.referenced_digest)
       ORDER BY r.referenced_digest LIMIT 10`,
      [id, repository, inserting, [...restoring]],
    );
    if (missing.length > 0) {
      throw new RegistryError('FAILED_PRECONDITION', `cannot restore deletion ${id}: ${missing[0]!.kind} ${missing[0]!.referenced_digest} it references is gone${missing[0]!.kind === 'manifest' ? ' (restore its deletion first)' : ''}`, {
        deletionId: id,
        missing: missing.map((m) => m.referenced_digest),
      });
    }
  }

  private async describe(db: Pool | PoolClient, rows: DeletionRow[]): Promise<DeletionRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    // One after the other: `db` may be a transaction's client.
    const tags = await db.query<{ deletion_id: string; name: string; digest: string }>('SELECT deletion_id, name, digest FROM deleted_tags WHERE deletion_id = ANY($1::uuid[]) ORDER BY name COLLATE "C"', [ids]);
    const manifests = await db.query<{ deletion_id: string; digest: string; media_type: string; size: string }>('SELECT deletion_id, digest, media_type, size FROM deleted_manifests WHERE deletion_id = ANY($1::uuid[]) ORDER BY digest', [ids]);
    const bytes = await db.query<{ deletion_id: string; bytes: string }>(
      `SELECT x.deletion_id, COALESCE(sum(b.size), 0) AS bytes FROM (
         SELECT DISTINCT deletion_id, referenced_digest FROM (
           SELECT r.deletion_id, r.referenced_digest FROM deleted_manifest_references r WHERE r.kind = 'blob' AND r.deletion_id = ANY($1::uuid[])
           UNION
           SELECT t.deletion_id, mr.referenced_digest FROM deleted_tags t JOIN manifest_references mr ON mr.repository = t.repository AND mr.manifest_digest = t.digest AND mr.kind = 'blob'
           WHERE t.deletion_id = ANY($1::uuid[]) AND NOT EXISTS (SELECT 1 FROM deleted_manifests dm WHERE dm.deletion_id = t.deletion_id)
         ) u
       ) x JOIN blobs b ON b.digest = x.referenced_digest GROUP BY x.deletion_id`,
      [ids],
    );
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      repository: r.repository,
      deletedAt: r.deleted_at,
      restorableUntil: r.restorable_until,
      actor: { userId: r.actor_user_id, email: r.actor_email, service: r.actor_service },
      tags: tags.rows.filter((t) => t.deletion_id === r.id).map((t) => ({ tag: t.name, digest: t.digest })),
      manifests: manifests.rows.filter((m) => m.deletion_id === r.id).map((m) => ({ digest: m.digest, mediaType: m.media_type, size: Number(m.size) })),
      bytes: Number(bytes.rows.find((b) => b.deletion_id === r.id)?.bytes ?? 0),
    }));
  }
}

interface DeletionRow {
  id: string;
  repository: string;
  kind: DeletionKind;
  deleted_at: Date;
  restorable_until: Date;
  actor_user_id: string;
  actor_email: string;
  actor_service: string;
}

interface TrashedManifestRow {
  digest: string;
  media_type: string;
  content: Buffer;
  size: string;
  created_at: Date;
  subject_digest: string | null;
  artifact_type: string | null;
  annotations: unknown;
  platform: string | null;
  config_created: Date | null;
  last_pulled_at: Date | null;
}

const notFound = (id: string) => new RegistryError('NOT_FOUND', `deletion ${id} is not in the restore window (restored, purged, or never made)`, { deletionId: id });
