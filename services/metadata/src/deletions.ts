import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { parseDigest, parseRepositoryName, parseTag } from '@ocireg/oci';
import { recordAudit } from '@ocireg/audit';
import { inTransaction } from '@ocireg/postgres';
import type { AccessChanges } from './access-changes';
import type { ChangeOrigin } from './change-origin';
import { refuseImmutableTags } from './immutable/immutable-tag-rules';
import { removeManifest } from './manifest-removal';
import { recordEvent } from './outbox';
import { DEFAULT_RESTORE_WINDOW_SECONDS, openDeletion, trashManifests, trashTag } from './restore-window';

/**
 * Deleting content: manifests (with the tags that point to them), whole
 * images, tags and blob links, each with its events and its audit entry in
 * the same transaction, and the "content:<workspace>" announcement after the commit of a removal.
 * What no longer has references is freed later by garbage collection (gc/).
 * With a restore window (RESTORE_WINDOW_SECONDS > 0), what a delete removes is
 * first copied into a deletion that can be restored (restore-window.ts).
 */
export class Deletions {
  constructor(
    private readonly pool: Pool,
    /** Told, after the commit, of every removal of manifests or blob links ("content:<workspace>"), so every gateway drops its cached answers. */
    private readonly removals: AccessChanges,
    /** How long deleted tags and manifests stay restorable; 0: deletes are final. */
    private readonly restoreWindowSeconds: number = DEFAULT_RESTORE_WINDOW_SECONDS,
  ) {}

  /**
   * Deletes a manifest by digest, with the tags that point to it (returned).
   * `guard.untagged` (retention): only while no tag and no other manifest points to it, else FAILED_PRECONDITION.
   */
  async deleteManifest(repository: string, digest: string, origin: ChangeOrigin, guard: { untagged?: boolean } = {}): Promise<{ tags: string[] }> {
    parseRepositoryName(repository);
    parseDigest(digest);
    return inTransaction(this.pool, async (client) => {
      // The row lock first: a concurrent push tagging this manifest finishes before its tags are read.
      const locked = await client.query('SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2 FOR UPDATE', [repository, digest]);
      if (!locked.rowCount) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${digest} is unknown to ${repository}`, { digest });
      if (guard.untagged) {
        const { rows } = await client.query<{ used: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM tags WHERE repository = $1 AND digest = $2)
               OR EXISTS (SELECT 1 FROM manifest_references WHERE repository = $1 AND referenced_digest = $2 AND kind = 'manifest' AND manifest_digest <> $2) AS used`,
          [repository, digest],
        );
        if (rows[0]?.used) throw new RegistryError('FAILED_PRECONDITION', `manifest ${digest} is tagged or referenced again`, { digest });
      }
      const { rows: tagged } = await client.query<{ name: string }>('SELECT name FROM tags WHERE repository = $1 AND digest = $2 ORDER BY name', [repository, digest]);
      await refuseImmutableTags(client, repository, tagged.map((t) => t.name), `deleted, nor manifest ${digest} it points to`);
      const deletion = await openDeletion(client, this.restoreWindowSeconds, repository, 'manifest', origin);
      if (deletion) await trashManifests(client, deletion, repository, [digest]);
      return removeManifest(client, repository, digest, origin);
    }).then(async (removed) => {
      await this.removedIn(repository);
      return removed;
    });
  }

  /**
   * Deletes an image: every manifest and tag of a repository, in one
   * transaction, with a tag.deleted and a manifest.deleted event for each (as
   * deleteManifest does). Blobs stay linked; garbage collection frees them later.
   */
  async deleteImage(repository: string, origin: ChangeOrigin): Promise<{ manifests: number; tags: number }> {
    const name = parseRepositoryName(repository);
    return inTransaction(this.pool, async (client) => {
      // Row locks first: a push tagging one of these manifests finishes before the tags are read.
      const { rows: manifests } = await client.query<{ digest: string }>('SELECT digest FROM manifests WHERE repository = $1 ORDER BY digest FOR UPDATE', [repository]);
      if (manifests.length === 0) throw new RegistryError('NAME_UNKNOWN', `${repository} holds no images`, { name: repository });
      const deletion = await openDeletion(client, this.restoreWindowSeconds, repository, 'image', origin);
      if (deletion) await trashManifests(client, deletion, repository, manifests.map((m) => m.digest));
      const { rows: tags } = await client.query<{ name: string; digest: string }>('DELETE FROM tags WHERE repository = $1 RETURNING name, digest', [repository]);
      await refuseImmutableTags(client, repository, tags.map((t) => t.name), 'deleted, nor the image it belongs to');
      await client.query('DELETE FROM manifests WHERE repository = $1', [repository]);
      const target = { workspace: name.workspace, repository, package: name.image };
      for (const tag of tags) await recordEvent(client, 'tag.deleted', { ...target, digest: tag.digest, tag: tag.name }, origin);
      for (const manifest of manifests) await recordEvent(client, 'manifest.deleted', { ...target, digest: manifest.digest }, origin);
      await recordAudit(client, origin, {
        action: 'image.deleted',
        workspace: name.workspace,
        target: { type: 'image', name: repository },
        before: { manifests: manifests.map((m) => m.digest), tags: tags.map((t) => t.name) },
      });
      return { manifests: manifests.length, tags: tags.length };
    }).then(async (removed) => {
      await this.removedIn(repository);
      return removed;
    });
  }

  /**
   * Deletes a tag. `guard` (retention): only while it still points to `digest`
   * and was not pushed or moved after `unchangedSince`, else FAILED_PRECONDITION.
   */
  async deleteTag(repository: string, tag: string, origin: ChangeOrigin, guard: { digest?: string; unchangedSince?: Date } = {}): Promise<void> {
    const name = parseRepositoryName(repository);
    parseTag(tag);
    await inTransaction(this.pool, async (client) => {
      const deletion = await openDeletion(client, this.restoreWindowSeconds, repository, 'tag', origin);
      if (deletion) await trashTag(client, deletion, repository, tag);
      const { rows } = await client.query<{ digest: string }>(
        'DELETE FROM tags WHERE repository = $1 AND name = $2 AND ($3::text IS NULL OR digest = $3) AND ($4::timestamptz IS NULL OR updated_at <= $4) RETURNING digest',
        [repository, tag, guard.digest ?? null, guard.unchangedSince ?? null],
      );
      if (!rows[0] && (guard.digest || guard.unchangedSince)) {
        const still = await client.query('SELECT 1 FROM tags WHERE repository = $1 AND name = $2', [repository, tag]);
        if (still.rowCount) throw new RegistryError('FAILED_PRECONDITION', `tag ${tag} was pushed or moved since`, { tag });
      }
      if (!rows[0]) throw new RegistryError('MANIFEST_UNKNOWN', `tag ${tag} is unknown to ${repository}`, { tag });
      await refuseImmutableTags(client, repository, [tag], 'deleted');
      await recordEvent(client, 'tag.deleted', { workspace: name.workspace, repository, package: name.image, digest: rows[0].digest, tag }, origin);
      await recordAudit(client, origin, { action: 'tag.deleted', workspace: name.workspace, target: { type: 'tag', id: tag, name: `${repository}:${tag}` }, before: { digest: rows[0].digest } });
    });
  }

  /** Removes a blob from a repository; garbage collection frees bytes no repository links. */
  async unlinkBlob(repository: string, digest: string, origin: ChangeOrigin): Promise<void> {
    const name = parseRepositoryName(repository);
    parseDigest(digest);
    await inTransaction(this.pool, async (client) => {
      const deleted = await client.query('DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2', [repository, digest]);
      if (deleted.rowCount === 0) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is unknown to ${repository}`, { digest });
      await recordAudit(client, origin, { action: 'blob.deleted', workspace: name.workspace, target: { type: 'blob', id: digest, name: repository } });
    });
    await this.removedIn(repository);
  }

  private async removedIn(repository: string): Promise<void> {
    await this.removals.announce(`content:${parseRepositoryName(repository).workspace}`);
  }
}
