import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { describeManifest, parseDigest, parseRepositoryName, parseTag, platformFromText } from '@ocireg/oci';
import { recordAudit } from '@ocireg/audit';
import { inTransaction } from '@ocireg/postgres';
import type { ChangeOrigin } from './change-origin';
import { refuseImmutableTags } from './immutable/immutable-tag-rules';
import { recordEvent } from './outbox';
import type { PackagesOnPush } from './package-creation-on-push';
import { enqueueReplications } from './replication/replication-jobs';
import { refuseOverQuota } from './usage';

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  content: Buffer;
  size: number;
}

/** A manifest as its queries select it (m.digest, m.media_type, content, m.size). */
export interface ManifestRow {
  digest: string;
  media_type: string;
  content: Buffer;
  size: string;
}

export function toManifestRecord(row: ManifestRow): ManifestRecord {
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
  /** Who pushes, from where: the push's events and audit entry. */
  origin: ChangeOrigin;
  /** "os/arch[/variant]" from an image's config, when the gateway could read it. */
  platform?: string;
  /** The `created` time an image's config names (RFC 3339), when the gateway could read it. */
  created?: string;
  /** The sizes the manifest's descriptors give its blobs, checked against the stored blobs when given. */
  blobSizes?: Record<string, number>;
  /** The user pushing: the package is created for them on first push. */
  pusher?: string;
  /** A pull-through fill: the package is the upstream's, and what the manifest references is fetched when pulled. */
  pullThrough?: boolean;
}

/**
 * Manifests per repository, stored byte for byte: pushed (with their tags,
 * once everything they reference is there), read by tag or digest, and
 * described with what their image config says. Reading many tags at once is
 * tags.ts; deleting is deletions.ts. Every input is validated before SQL.
 */
export class Manifests {
  constructor(
    private readonly pool: Pool,
    /** A push naming a pusher creates the package on their first push, in the push's transaction. */
    private readonly packages: PackagesOnPush,
  ) {}

  async put(input: PutManifestInput): Promise<string> {
    parseRepositoryName(input.repository);
    const tags = unique(input.tags.map(parseTag));
    const digest = parseDigest(input.digest);
    const actual = `${digest.algorithm}:${createHash(digest.algorithm).update(input.content).digest('hex')}`;
    if (actual !== digest.value) throw new RegistryError('DIGEST_INVALID', `manifest content has digest ${actual}, not ${digest.value}`, { digest: digest.value });
    const blobDigests = unique(input.blobDigests);
    const manifestDigests = unique(input.manifestDigests);
    for (const referenced of [...blobDigests, ...manifestDigests]) parseDigest(referenced);
    if (input.subjectDigest) parseDigest(input.subjectDigest);

    return inTransaction(this.pool, async (client) => {
      if (input.pusher) await this.packages.ensure(input.repository, input.pusher, { create: true, db: client, origin: input.origin, pullThrough: input.pullThrough });
      await refuseOverQuota(client, input.repository);
      if (!input.pullThrough) {
        await this.requireExisting(client, 'repository_blobs', input.repository, blobDigests, input.blobSizes);
        await this.requireExisting(client, 'manifests', input.repository, manifestDigests);
      }
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
      const origin = input.origin;
      const target = { workspace: name.workspace, repository: input.repository, package: name.image, digest: digest.value, mediaType: input.mediaType, size: input.content.length };
      // A re-push of the same bytes changes nothing, so it is no event; its tags still are.
      if (inserted) {
        const manifest = describeManifest({ mediaType: input.mediaType, content: input.content, platform: platformOrNull(input.platform) ?? undefined, created: createdOrNull(input.created)?.toISOString() });
        await recordEvent(client, 'manifest.pushed', { ...target, manifest }, origin);
      }
      // The tags' digests before, locked (in name order, as every push locks them): what the audit entry says they moved from.
      const moved = new Map<string, string>();
      const unchanged = new Set<string>();
      if (tags.length > 0) {
        const { rows: earlier } = await client.query<{ name: string; digest: string }>('SELECT name, digest FROM tags WHERE repository = $1 AND name = ANY($2::text[]) ORDER BY name FOR UPDATE', [input.repository, tags]);
        for (const row of earlier) {
          if (row.digest === digest.value) unchanged.add(row.name);
          else moved.set(row.name, row.digest);
        }
      }
      // An immutable tag is set once: re-pushing its digest is fine, moving it is refused (for everyone).
      await refuseImmutableTags(client, input.repository, [...moved.keys()], `moved to ${digest.value}`);
      const tagsSet = tags.filter((tag) => !unchanged.has(tag));
      if (tags.length > 0) {
        await client.query(
          `INSERT INTO tags (repository, name, digest) SELECT $1, unnest($2::text[]), $3
           ON CONFLICT (repository, name) DO UPDATE SET digest = EXCLUDED.digest, updated_at = now()`,
          [input.repository, tags, digest.value],
        );
        for (const tag of tags) await recordEvent(client, 'tag.updated', { ...target, tag }, origin);
      }
      // Tags set or moved go to the workspace's replication targets (docs/replication.md); fills come from elsewhere.
      if (!input.pullThrough) await enqueueReplications(client, input.repository, tagsSet, digest.value);
      // One entry per push that changed something: a new manifest (with the tags it set), or tags moved to one stored before.
      if (inserted || tagsSet.length > 0) {
        await recordAudit(client, origin, {
          action: inserted ? 'manifest.pushed' : 'tag.updated',
          workspace: name.workspace,
          target: { type: inserted ? 'manifest' : 'tag', id: digest.value, name: input.repository },
          ...(moved.size > 0 ? { before: { tags: Object.fromEntries(moved) } } : {}),
          after: { digest: digest.value, mediaType: input.mediaType, size: input.content.length, tags: tagsSet },
        });
      }
      return digest.value;
    });
  }

  /** A manifest by tag or digest; `withoutContent` leaves its bytes out (HEAD needs only the digest, type and size). */
  async get(repository: string, reference: string, withoutContent = false): Promise<ManifestRecord> {
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
   * Records the platform and created time an image's config names (read after
   * the push), once, and tells listings (manifest.described).
   */
  async describe(repository: string, digest: string, facts: { platform?: string; created?: string }, origin: ChangeOrigin): Promise<void> {
    const name = parseRepositoryName(repository);
    parseDigest(digest);
    const platform = platformOrNull(facts.platform);
    const created = createdOrNull(facts.created);
    if (!platform && !created) return;
    await inTransaction(this.pool, async (client) => {
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
