import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import { NO_ANNOUNCEMENTS, type AccessChanges } from './access-changes';
import { removeManifest } from './manifest-removal';
import type { PackagesOnPush } from './package-creation-on-push';
import { recordEvent, type ChangeOrigin } from './outbox';
import { checkMarker } from './paging';
import { refuseOverQuota } from './usage';
import { Blobs } from './blobs';
import { describeManifest, parseDigest, parseRepositoryName, parseTag, platformFromText } from '@ocireg/oci';

/** Tags one ResolveTags call may look up. */
export const MAX_TAG_LOOKUPS = 64;

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  content: Buffer;
  size: number;
}

/** A manifest as its queries select it (m.digest, m.media_type, content, m.size). */
interface ManifestRow {
  digest: string;
  media_type: string;
  content: Buffer;
  size: string;
}

function toManifestRecord(row: ManifestRow): ManifestRecord {
  return { digest: row.digest, mediaType: row.media_type, content: row.content, size: Number(row.size) };
}

export interface PutManifestInput {
  repository: string;
  tags: string[];
  digest: string;
  mediaType: string;
  content: Buffer;
  blobDigests: string[];
  manifestDigests: string[];
  subjectDigest?: string;
  artifactType?: string;
  /** A JSON object, as the manifest carries it. */
  annotations?: Record<string, string>;
  origin?: ChangeOrigin;
  /** "os/arch[/variant]" from an image's config, when the gateway could read it. */
  platform?: string;
  /** The `created` time an image's config names (RFC 3339), when the gateway could read it. */
  created?: string;
  /** The sizes the manifest's descriptors give its blobs, checked against the stored blobs when given. */
  blobSizes?: Record<string, number>;
  /** The user pushing: the package is created for them on first push. */
  pusher?: string;
}

const UNKNOWN_ORIGIN: ChangeOrigin = { actor: '', requestId: '' };

export interface ReferrerRecord {
  mediaType: string;
  digest: string;
  size: number;
  artifactType: string;
  annotations?: Record<string, string>;
}

/** Blobs, manifests and tags per repository, in PostgreSQL. Every input is validated before SQL. */
export class RegistryMetadata {
  readonly blobs: Blobs;

  constructor(
    private readonly pool: Pool,
    /** Writes naming a pusher create the package on first push in their own transaction; without this, packages are not checked. */
    private readonly packages?: PackagesOnPush,
    /** Told, after the commit, of every removal of manifests or blob links ("content:<workspace>"), so every gateway drops its cached answers. */
    private readonly removals: AccessChanges = NO_ANNOUNCEMENTS,
  ) {
    this.blobs = new Blobs(pool, packages ?? { ensure: async () => undefined });
  }

  private async removedIn(repository: string): Promise<void> {
    await this.removals.announce(`content:${parseRepositoryName(repository).workspace}`);
  }

  /** The package of `repository`, created for `pusher` when it is their first push; nothing without a pusher. */
  private async packageFor(client: PoolClient, repository: string, pusher: string | undefined): Promise<void> {
    if (pusher && this.packages) await this.packages.ensure(repository, pusher, { create: true, db: client });
  }

  async putManifest(input: PutManifestInput): Promise<string> {
    parseRepositoryName(input.repository);
    const tags = unique(input.tags.map(parseTag));
    const digest = parseDigest(input.digest);
    const actual = `${digest.algorithm}:${createHash(digest.algorithm).update(input.content).digest('hex')}`;
    if (actual !== digest.value) throw new RegistryError('DIGEST_INVALID', `manifest content has digest ${actual}, not ${digest.value}`, { digest: digest.value });
    const blobDigests = unique(input.blobDigests);
    const manifestDigests = unique(input.manifestDigests);
    for (const referenced of [...blobDigests, ...manifestDigests]) parseDigest(referenced);
    if (input.subjectDigest) parseDigest(input.subjectDigest);

    return this.transaction(async (client) => {
      await this.packageFor(client, input.repository, input.pusher);
      await refuseOverQuota(client, input.repository);
      await this.requireExisting(client, 'repository_blobs', input.repository, blobDigests, input.blobSizes);
      await this.requireExisting(client, 'manifests', input.repository, manifestDigests);
      // DO UPDATE (a no-op) rather than DO NOTHING: it locks an existing row, so a concurrent
      // delete of the same manifest waits for this transaction instead of pulling it from under its tags.
      const { rows: upserted } = await client.query<{ inserted: boolean }>(
        `INSERT INTO manifests (repository, digest, media_type, content, size, subject_digest, artifact_type, annotations, platform, config_created)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (repository, digest) DO UPDATE SET media_type = manifests.media_type RETURNING (xmax = 0) AS inserted`,
        [input.repository, digest.value, input.mediaType, input.content, input.content.length, input.subjectDigest ?? null, input.artifactType ?? null, input.annotations ? JSON.stringify(input.annotations) : null, platformOrNull(input.platform), createdOrNull(input.created)],
      );
      const inserted = upserted[0]?.inserted === true;
      const references = [...blobDigests.map((d) => [d, 'blob']), ...manifestDigests.map((d) => [d, 'manifest'])];
      if (references.length > 0) {
        await client.query(
          `INSERT INTO manifest_references (repository, manifest_digest, referenced_digest, kind)
           SELECT $1, $2, ref.digest, ref.kind FROM unnest($3::text[], $4::text[]) AS ref(digest, kind) ON CONFLICT DO NOTHING`,
          [input.repository, digest.value, references.map((r) => r[0]), references.map((r) => r[1])],
        );
      }
      const name = parseRepositoryName(input.repository);
      const origin = input.origin ?? UNKNOWN_ORIGIN;
      const target = { workspace: name.workspace, repository: input.repository, package: name.image, digest: digest.value, mediaType: input.mediaType, size: input.content.length };
      // A re-push of the same bytes changes nothing, so it is no event; its tags still are.
      if (inserted) {
        const manifest = describeManifest({ mediaType: input.mediaType, content: input.content, platform: platformOrNull(input.platform) ?? undefined, created: createdOrNull(input.created)?.toISOString() });
        await recordEvent(client, 'manifest.pushed', { ...target, manifest }, origin);
      }
      if (tags.length > 0) {
        await client.query(
          `INSERT INTO tags (repository, name, digest) SELECT $1, unnest($2::text[]), $3
           ON CONFLICT (repository, name) DO UPDATE SET digest = EXCLUDED.digest, updated_at = now()`,
          [input.repository, tags, digest.value],
        );
        for (const tag of tags) await recordEvent(client, 'tag.updated', { ...target, tag }, origin);
      }
      return digest.value;
    });
  }

  /** A manifest by tag or digest; `withoutContent` leaves its bytes out (HEAD needs only the digest, type and size). */
  async getManifest(repository: string, reference: string, withoutContent = false): Promise<ManifestRecord> {
    parseRepositoryName(repository);
    const byDigest = reference.includes(':');
    if (byDigest) parseDigest(reference);
    else parseTag(reference);
    const content = withoutContent ? "''::bytea" : 'm.content';
    const { rows } = await this.pool.query<ManifestRow>(
      byDigest
        ? `SELECT m.digest, m.media_type, ${content} AS content, m.size FROM manifests m WHERE m.repository = $1 AND m.digest = $2`
        : `SELECT m.digest, m.media_type, ${content} AS content, m.size FROM tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest WHERE t.repository = $1 AND t.name = $2`,
      [repository, reference],
    );
    const row = rows[0];
    if (!row) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is unknown to ${repository}`, { reference });
    return toManifestRecord(row);
  }

  /**
   * Many tags at once, in one query (the gateway batches concurrent pulls'
   * lookups): the manifest each tag points to, or undefined, in the order asked.
   */
  async resolveTags(lookups: ReadonlyArray<{ repository: string; tag: string; withoutContent: boolean }>): Promise<Array<ManifestRecord | undefined>> {
    if (lookups.length > MAX_TAG_LOOKUPS) throw new RegistryError('INVALID_ARGUMENT', `at most ${MAX_TAG_LOOKUPS} tags per lookup, not ${lookups.length}`);
    for (const lookup of lookups) {
      parseRepositoryName(lookup.repository);
      parseTag(lookup.tag);
    }
    if (lookups.length === 0) return [];
    const { rows } = await this.pool.query<ManifestRow & { i: string }>(
      `SELECT q.i, m.digest, m.media_type, CASE WHEN q.without_content THEN ''::bytea ELSE m.content END AS content, m.size
       FROM unnest($1::text[], $2::text[], $3::bool[]) WITH ORDINALITY AS q(repository, tag, without_content, i)
       JOIN tags t ON t.repository = q.repository AND t.name = q.tag
       JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest`,
      [lookups.map((l) => l.repository), lookups.map((l) => l.tag), lookups.map((l) => l.withoutContent)],
    );
    const found: Array<ManifestRecord | undefined> = lookups.map(() => undefined);
    for (const row of rows) found[Number(row.i) - 1] = toManifestRecord(row);
    return found;
  }

  /**
   * Records the platform and created time an image's config names (read after
   * the push), once, and tells listings (manifest.described).
   */
  async describeManifest(repository: string, digest: string, facts: { platform?: string; created?: string }, origin: ChangeOrigin = UNKNOWN_ORIGIN): Promise<void> {
    const name = parseRepositoryName(repository);
    parseDigest(digest);
    const platform = platformOrNull(facts.platform);
    const created = createdOrNull(facts.created);
    if (!platform && !created) return;
    await this.transaction(async (client) => {
      const { rows } = await client.query<{ platform: string | null; config_created: Date | null }>(
        `UPDATE manifests SET platform = COALESCE(platform, $3), config_created = COALESCE(config_created, $4)
         WHERE repository = $1 AND digest = $2 AND (platform IS NULL OR config_created IS NULL) RETURNING platform, config_created`,
        [repository, digest, platform, created],
      );
      const row = rows[0];
      if (!row) return; // deleted meanwhile, or described already
      await recordEvent(
        client,
        'manifest.described',
        {
          workspace: name.workspace,
          repository,
          package: name.image,
          digest,
          ...(row.platform ? { platform: platformFromText(row.platform) } : {}),
          ...(row.config_created ? { created: row.config_created.toISOString() } : {}),
        },
        origin,
      );
    });
  }

  /** Tags in lexical (byte) order after `after`; reports whether more follow. */
  async listTags(repository: string, limit: number, after: string): Promise<{ tags: string[]; hasMore: boolean }> {
    parseRepositoryName(repository);
    checkMarker(after);
    const { rows } = await this.pool.query<{ name: string }>(
      'SELECT name FROM tags WHERE repository = $1 AND name COLLATE "C" > $2 ORDER BY name COLLATE "C" LIMIT $3',
      [repository, after, limit + 1],
    );
    if (rows.length === 0 && after === '') await this.requireRepository(repository);
    return { tags: rows.slice(0, limit).map((row) => row.name), hasMore: rows.length > limit };
  }

  /** Deletes a manifest by digest, with the tags that point to it (returned). */
  async deleteManifest(repository: string, digest: string, origin: ChangeOrigin = UNKNOWN_ORIGIN): Promise<{ tags: string[] }> {
    parseRepositoryName(repository);
    parseDigest(digest);
    return this.transaction(async (client) => {
      // The row lock first: a concurrent push tagging this manifest finishes before its tags are read.
      const locked = await client.query('SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2 FOR UPDATE', [repository, digest]);
      if (!locked.rowCount) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${digest} is unknown to ${repository}`, { digest });
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
  async deleteImage(repository: string, origin: ChangeOrigin = UNKNOWN_ORIGIN): Promise<{ manifests: number; tags: number }> {
    const name = parseRepositoryName(repository);
    return this.transaction(async (client) => {
      // Row locks first: a push tagging one of these manifests finishes before the tags are read.
      const { rows: manifests } = await client.query<{ digest: string }>('SELECT digest FROM manifests WHERE repository = $1 ORDER BY digest FOR UPDATE', [repository]);
      if (manifests.length === 0) throw new RegistryError('NAME_UNKNOWN', `${repository} holds no images`, { name: repository });
      const { rows: tags } = await client.query<{ name: string; digest: string }>('DELETE FROM tags WHERE repository = $1 RETURNING name, digest', [repository]);
      await client.query('DELETE FROM manifests WHERE repository = $1', [repository]);
      const target = { workspace: name.workspace, repository, package: name.image };
      for (const tag of tags) await recordEvent(client, 'tag.deleted', { ...target, digest: tag.digest, tag: tag.name }, origin);
      for (const manifest of manifests) await recordEvent(client, 'manifest.deleted', { ...target, digest: manifest.digest }, origin);
      return { manifests: manifests.length, tags: tags.length };
    }).then(async (removed) => {
      await this.removedIn(repository);
      return removed;
    });
  }

  async deleteTag(repository: string, tag: string, origin: ChangeOrigin = UNKNOWN_ORIGIN): Promise<void> {
    const name = parseRepositoryName(repository);
    parseTag(tag);
    await this.transaction(async (client) => {
      const { rows } = await client.query<{ digest: string }>('DELETE FROM tags WHERE repository = $1 AND name = $2 RETURNING digest', [repository, tag]);
      if (!rows[0]) throw new RegistryError('MANIFEST_UNKNOWN', `tag ${tag} is unknown to ${repository}`, { tag });
      await recordEvent(client, 'tag.deleted', { workspace: name.workspace, repository, package: name.image, digest: rows[0].digest, tag }, origin);
    });
  }

  /** Removes a blob from a repository; garbage collection frees bytes no repository links. */
  async unlinkBlob(repository: string, digest: string): Promise<void> {
    parseRepositoryName(repository);
    parseDigest(digest);
    const deleted = await this.pool.query('DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2', [repository, digest]);
    if (deleted.rowCount === 0) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is unknown to ${repository}`, { digest });
    await this.removedIn(repository);
  }

  async listReferrers(repository: string, digest: string, artifactType?: string): Promise<ReferrerRecord[]> {
    parseRepositoryName(repository);
    parseDigest(digest);
    const { rows } = await this.pool.query<{ media_type: string; digest: string; size: string; artifact_type: string | null; annotations: Record<string, string> | null }>(
      `SELECT media_type, digest, size, artifact_type, annotations FROM manifests
       WHERE repository = $1 AND subject_digest = $2 AND ($3::text IS NULL OR artifact_type = $3)
       ORDER BY created_at, digest`,
      [repository, digest, artifactType || null],
    );
    return rows.map((row) => ({
      mediaType: row.media_type,
      digest: row.digest,
      size: Number(row.size),
      artifactType: row.artifact_type ?? '',
      ...(row.annotations ? { annotations: row.annotations } : {}),
    }));
  }

  /**
   * Repository names (those holding a manifest) in lexical order that a viewer
   * may see: whose package they have a role on (linked repository, grant,
   * workspace admin) or whose workspace is public. "" viewer: anonymous.
   */
  async listRepositories(limit: number, after: string, viewer: string): Promise<{ repositories: string[]; hasMore: boolean }> {
    checkMarker(after);
    const { rows } = await this.pool.query<{ repository: string }>(
      `SELECT m.repository FROM manifests m
       JOIN workspaces w ON w.slug = split_part(m.repository, '/', 1)
       JOIN packages p ON p.workspace_id = w.id AND p.name = substr(m.repository, length(w.slug) + 2)
       WHERE m.repository COLLATE "C" > $1
         AND (w.public_pull OR ($3 <> '' AND (
               EXISTS (SELECT 1 FROM workspace_admins a WHERE a.workspace_id = w.id AND a.user_id = $3)
            OR EXISTS (SELECT 1 FROM repository_members rm WHERE rm.repository_id = p.repository_id AND rm.user_id = $3)
            OR EXISTS (SELECT 1 FROM package_grants g WHERE g.package_id = p.id AND g.user_id = $3))))
       GROUP BY m.repository ORDER BY m.repository COLLATE "C" LIMIT $2`,
      [after, limit + 1, viewer],
    );
    return { repositories: rows.slice(0, limit).map((row) => row.repository), hasMore: rows.length > limit };
  }

  private async requireRepository(repository: string): Promise<void> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM manifests WHERE repository = $1 LIMIT 1', [repository]);
    if (!rowCount) throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known to the registry`, { name: repository });
  }

  /**
   * Every digest must be known to the repository (and, for blobs with given
   * sizes, have that size). The rows are locked until the push commits, so a
   * collector cannot take what the manifest is about to reference.
   */
  private async requireExisting(client: PoolClient, table: 'repository_blobs' | 'manifests', repository: string, digests: string[], sizes?: Record<string, number>): Promise<void> {
    if (digests.length === 0) return;
    const { rows } = await client.query<{ digest: string; size: string }>(
      table === 'manifests'
        ? 'SELECT digest, size FROM manifests WHERE repository = $1 AND digest = ANY($2::text[]) FOR KEY SHARE'
        : 'SELECT rb.digest, b.size FROM repository_blobs rb JOIN blobs b USING (digest) WHERE rb.repository = $1 AND rb.digest = ANY($2::text[]) FOR KEY SHARE OF rb',
      [repository, digests],
    );
    const found = new Map(rows.map((row) => [row.digest, Number(row.size)]));
    const missing = digests.filter((d) => !found.has(d));
    if (missing.length > 0) {
      // The first few digests and a count: an error never grows with the manifest.
      const shown = missing.slice(0, 3).join(', ');
      throw new RegistryError(
        'MANIFEST_BLOB_UNKNOWN',
        `manifest references ${missing.length} ${table === 'manifests' ? 'manifest(s)' : 'blob(s)'} unknown to ${repository}: ${shown}${missing.length > 3 ? ', ...' : ''}`,
        { missing: missing.slice(0, 10), missingTotal: missing.length },
      );
    }
    const wrong = digests.find((d) => sizes?.[d] !== undefined && sizes[d] !== found.get(d));
    if (wrong) throw new RegistryError('MANIFEST_INVALID', `the manifest gives blob ${wrong} a size of ${sizes![wrong]} bytes; it has ${found.get(wrong)}`, { digest: wrong });
  }

  private transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }

}

function platformOrNull(platform: string | undefined): string | null {
  return platform && /^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/.test(platform) ? platform : null;
}

/** The config's created time, or null when absent or not a time (it is informational only). */
function createdOrNull(created: string | undefined): Date | null {
  if (!created) return null;
  const time = new Date(created);
  return Number.isNaN(time.getTime()) || time.getUTCFullYear() < 1970 || time.getUTCFullYear() > 9999 ? null : time;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
