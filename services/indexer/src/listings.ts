import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { cosignTagsOf, parseRepositoryName, parseTag } from '@ocireg/oci';
import { foldedTagSql } from './folded-tags';
import { referrersOf, signedSubjectsOf, viewOf, withFoldedTags, type ManifestRow, type ManifestView, type ViewContext } from './manifest-views';

export type ImageSort = 'name' | 'last-pushed';
export type TagSort = 'name' | 'last-pushed';

export interface TagQuery {
  workspace: string;
  name: string;
  tagPrefix?: string;
  sort?: TagSort;
  pageSize?: number;
  pageToken?: string;
}

export interface TagEntryView {
  tag: TagView;
  /** Undefined while the manifest is not indexed yet. */
  manifest?: ManifestView;
  /** Signatures, attestations and SBOMs about the tag's manifest (or its index's entries): OCI 1.1 referrers and cosign's tags. */
  referrers: ManifestView[];
}

export interface ImageRow {
  repository: string;
  name: string;
  workspace: string;
  project: string;
  sourceRepositoryId: string;
  lastDigest: string;
  lastPushedAt: string;
  tagCount: number;
  manifestCount: number;
  totalSize: number;
}

export interface TagView {
  tag: string;
  digest: string;
  updatedAt: string;
  kind: string;
}

/** Which packages the caller may see (from metadata): all, or those of these source repositories plus these names. */
export interface ImageVisibility {
  allPackages: boolean;
  sourceRepositoryIds: string[];
  packageNames: string[];
}

export interface ImageQuery {
  workspace: string;
  visibility: ImageVisibility;
  project?: string;
  sourceRepositoryId?: string;
  namePrefix?: string;
  sort?: ImageSort;
  pageSize?: number;
  pageToken?: string;
}

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface PageKey {
  sort: ImageSort;
  name: string;
  /** Only for last-pushed: the time of the last row. */
  at?: string;
}

interface ImageDbRow {
  repository: string;
  name: string;
  workspace: string;
  project: string | null;
  source_repository_id: string | null;
  last_digest: string;
  last_pushed_at: Date;
  tag_count: number;
  manifest_count: number;
  total_size: string;
}

function imageRowOf(row: ImageDbRow): ImageRow {
  return {
    repository: row.repository,
    name: row.name,
    workspace: row.workspace,
    project: row.project ?? '',
    sourceRepositoryId: row.source_repository_id ?? '',
    lastDigest: row.last_digest,
    lastPushedAt: row.last_pushed_at.toISOString(),
    tagCount: row.tag_count,
    manifestCount: row.manifest_count,
    totalSize: Number(row.total_size),
  };
}

/** Listing queries over the read model; every input is validated before SQL. */
export class Listings {
  constructor(private readonly pool: Pool) {}

  async listImages(query: ImageQuery): Promise<{ images: ImageRow[]; nextPageToken: string }> {
    const workspace = checkWorkspace(query.workspace);
    if (query.project && !SLUG.test(query.project)) throw invalid('project', 'must be a project slug');
    if (query.sourceRepositoryId && !UUID.test(query.sourceRepositoryId)) throw invalid('source_repository_id', 'must be a UUID');
    if ((query.namePrefix ?? '').length > 255) throw invalid('name_prefix', 'must be at most 255 characters');
    const sort = query.sort ?? 'name';
    const limit = Math.min(Math.max(query.pageSize ?? 0, 0) || 50, 500);
    const after = decodePageKey(query.pageToken ?? '', sort);
    const keyset =
      sort === 'name'
        ? `($6::text IS NULL OR i.name COLLATE "C" > $6)`
        : `($6::text IS NULL OR i.last_pushed_at < $7 OR (i.last_pushed_at = $7 AND i.name COLLATE "C" > $6))`;
    const order = sort === 'name' ? 'i.name COLLATE "C"' : 'i.last_pushed_at DESC, i.name COLLATE "C"';
    const { visibility } = query;
    const filters = [workspace, query.project ?? '', query.sourceRepositoryId ?? '', query.namePrefix ?? '', limit + 1, after?.name ?? null, ...(sort === 'name' ? [] : [after?.at ?? null])];
    const seen = filters.length;
    const { rows } = await this.pool.query<ImageDbRow>(
      `SELECT i.*, p.project, p.source_repository_id FROM idx_images i LEFT JOIN idx_packages p USING (repository)
       WHERE i.workspace = $1 AND ($2 = '' OR p.project = $2) AND ($3 = '' OR p.source_repository_id = $3) AND starts_with(i.name, $4) AND ${keyset}
         AND ($${seen + 1}::boolean OR p.source_repository_id = ANY($${seen + 2}::text[]) OR i.name = ANY($${seen + 3}::text[]))
       ORDER BY ${order} LIMIT $5`,
      [...filters, visibility.allPackages, visibility.sourceRepositoryIds, visibility.packageNames],
    );
    const images = rows.slice(0, limit).map(imageRowOf);
    const last = images[images.length - 1];
    const nextPageToken = rows.length > limit && last ? encodePageKey({ sort, name: last.name, ...(sort === 'last-pushed' ? { at: last.lastPushedAt } : {}) }) : '';
    return { images, nextPageToken };
  }

  /** An image: its tags (without those folded under their subject) and its manifests, newest first. */
  async getImage(workspace: string, name: string): Promise<{ image: ImageRow; tags: TagView[]; manifests: ManifestView[] }> {
    const repository = repositoryOf(workspace, name);
    const image = await this.imageRow(repository);
    const { listedTags, context } = withFoldedTags(await this.contents(repository));
    const referencedAsEntry = new Set(context.all.flatMap((m) => m.entries.map((entry) => entry.digest)));
    const views = context.all.filter((m) => !referencedAsEntry.has(m.digest) || listedTags.some((t) => t.digest === m.digest)).map((m) => viewOf(m, context));
    return { image, tags: listedTags.map((t) => ({ ...t, kind: context.all.find((m) => m.digest === t.digest)?.kind ?? '' })), manifests: views };
  }

  /** One tag (a folded one too: it stays pullable), its manifest, and what refers to it. */
  async getTag(workspace: string, name: string, tag: string): Promise<{ tag: TagView; manifest: ManifestView; referrers: ManifestView[] }> {
    const repository = repositoryOf(workspace, name);
    try {
      parseTag(tag);
    } catch {
      throw invalid('tag', 'is not a valid tag');
    }
    const { tags, context } = withFoldedTags(await this.contents(repository));
    const found = tags.find((t) => t.tag === tag);
    const manifest = found && context.all.find((m) => m.digest === found.digest);
    if (!found || !manifest) throw new RegistryError('NOT_FOUND', `tag ${tag} of ${repository} is not listed (yet)`, { field: 'tag' });
    const related = new Set([manifest.digest, ...manifest.entries.map((entry) => entry.digest)]);
    const referrers = context.all.filter((m) => m.subject !== null && related.has(m.subject)).map((m) => viewOf(m, context, 1));
    return { tag: { ...found, kind: manifest.kind }, manifest: viewOf(manifest, context), referrers };
  }

  /**
   * One page of an image's tags (keyset: by name in byte order, or newest
   * first), each with its manifest (an index with its entries) and referrers
   * (cosign's tags folded among them, not listed as tags): five indexed
   * queries whatever the image's size.
   */
  async listTags(query: TagQuery): Promise<{ tags: TagEntryView[]; nextPageToken: string }> {
    const repository = repositoryOf(query.workspace, query.name);
    const prefix = query.tagPrefix ?? '';
    if (prefix.length > 128) throw invalid('tag_prefix', 'must be at most 128 characters');
    const sort = query.sort ?? 'name';
    const limit = Math.min(Math.max(query.pageSize ?? 0, 0) || 50, 200);
    const after = decodePageKey(query.pageToken ?? '', sort);
    const keyset =
      sort === 'name'
        ? `($4::text IS NULL OR tag COLLATE "C" > $4) AND tag COLLATE "C" >= $2`
        : `($4::text IS NULL OR updated_at < $5 OR (updated_at = $5 AND tag COLLATE "C" > $4))`;
    const order = sort === 'name' ? 'tag COLLATE "C"' : 'updated_at DESC, tag COLLATE "C"';
    const { rows } = await this.pool.query<{ tag: string; digest: string; updated_at: Date }>(
      `SELECT tag, digest, updated_at FROM idx_tags t WHERE repository = $1 AND starts_with(tag, $2) AND ${keyset} AND NOT ${foldedTagSql('t')}
       ORDER BY ${order} LIMIT $3`,
      [repository, prefix, limit + 1, after?.name ?? null, ...(sort === 'name' ? [] : [after?.at ?? null])],
    );
    if (rows.length === 0 && !after) await this.imageRow(repository);
    const page = rows.slice(0, limit).map((row) => ({ tag: row.tag, digest: row.digest, updatedAt: row.updated_at.toISOString() }));
    const digests = [...new Set(page.map((t) => t.digest))];
    const manifests = await this.manifestRows(repository, 'digest = ANY($2::text[])', digests);
    const entryDigests = [...new Set(manifests.flatMap((m) => m.entries.map((entry) => entry.digest)))].filter((d) => !digests.includes(d));
    const [entries, bySubject] = await Promise.all([
      this.manifestRows(repository, 'digest = ANY($2::text[])', entryDigests),
      this.manifestRows(repository, 'subject = ANY($2::text[])', [...digests, ...entryDigests]),
    ]);
    const known = [...manifests, ...entries];
    // cosign's tags of the manifests listed here (folded: the SQL above left them out of the page).
    const folded = await this.taggedRows(repository, known.flatMap((m) => cosignTagsOf(m.digest)));
    const referrers = referrersOf(bySubject, folded);
    const context: ViewContext = { all: known, tags: [...page, ...folded], signed: signedSubjectsOf(referrers) };
    const byDigest = new Map(manifests.map((m) => [m.digest, m]));
    const tags = page.map((tag) => {
      const manifest = byDigest.get(tag.digest);
      const view = manifest && viewOf(manifest, context);
      const related = new Set([tag.digest, ...(manifest?.entries.map((entry) => entry.digest) ?? [])]);
      return {
        tag: { ...tag, kind: manifest?.kind ?? '' },
        ...(view ? { manifest: view } : {}),
        referrers: referrers.filter((r) => r.subject !== null && related.has(r.subject)).map((r) => viewOf(r, context, 1)),
      };
    });
    const last = page[page.length - 1];
    const nextPageToken = rows.length > limit && last ? encodePageKey({ sort, name: last.tag, ...(sort === 'last-pushed' ? { at: last.updatedAt } : {}) }) : '';
    return { tags, nextPageToken };
  }

  private async manifestRows(repository: string, where: string, values: string[]): Promise<ManifestRow[]> {
    if (values.length === 0) return [];
    const { rows } = await this.pool.query<ManifestRow>(
      `SELECT digest, media_type, kind, artifact_type, platform_os, platform_architecture, platform_variant, created, subject, config, layers, entries, pushed_at
       FROM idx_manifests WHERE repository = $1 AND ${where} ORDER BY pushed_at DESC, digest`,
      [repository, values],
    );
    return rows;
  }

  /** The manifests these tags point to, with the tag (tags that do not exist are skipped). */
  private async taggedRows(repository: string, tags: string[]): Promise<Array<ManifestRow & { tag: string }>> {
    if (tags.length === 0) return [];
    const { rows } = await this.pool.query<ManifestRow & { tag: string }>(
      `SELECT t.tag, m.digest, m.media_type, m.kind, m.artifact_type, m.platform_os, m.platform_architecture, m.platform_variant, m.created, m.subject, m.config, m.layers, m.entries, m.pushed_at
       FROM idx_tags t JOIN idx_manifests m ON m.repository = t.repository AND m.digest = t.digest
       WHERE t.repository = $1 AND t.tag = ANY($2::text[]) ORDER BY m.pushed_at DESC, m.digest`,
      [repository, tags],
    );
    return rows;
  }

  private async imageRow(repository: string): Promise<ImageRow> {
    const { rows } = await this.pool.query<ImageDbRow>(
      'SELECT i.*, p.project, p.source_repository_id FROM idx_images i LEFT JOIN idx_packages p USING (repository) WHERE i.repository = $1',
      [repository],
    );
    const row = rows[0];
    if (!row) throw new RegistryError('NOT_FOUND', `image ${repository} does not exist, has no content, or is not indexed yet`, { field: 'name' });
    return imageRowOf(row);
  }

  private async contents(repository: string): Promise<{ tags: Array<{ tag: string; digest: string; updatedAt: string }>; manifests: ManifestRow[] }> {
    const [tags, manifests] = await Promise.all([
      this.pool.query<{ tag: string; digest: string; updated_at: Date }>('SELECT tag, digest, updated_at FROM idx_tags WHERE repository = $1 ORDER BY tag COLLATE "C"', [repository]),
      this.pool.query<ManifestRow>(
        `SELECT digest, media_type, kind, artifact_type, platform_os, platform_architecture, platform_variant, created, subject, config, layers, entries, pushed_at
         FROM idx_manifests WHERE repository = $1 ORDER BY pushed_at DESC, digest`,
        [repository],
      ),
    ]);
    return { tags: tags.rows.map((row) => ({ tag: row.tag, digest: row.digest, updatedAt: row.updated_at.toISOString() })), manifests: manifests.rows };
  }
}

function checkWorkspace(workspace: string): string {
  if (!workspace || workspace.length > 63 || !SLUG.test(workspace)) throw invalid('workspace', 'must be a workspace slug');
  return workspace;
}

function repositoryOf(workspace: string, name: string): string {
  checkWorkspace(workspace);
  try {
    return parseRepositoryName(`${workspace}/${name}`).value;
  } catch {
    throw invalid('name', 'must follow the OCI repository name grammar');
  }
}

function invalid(field: string, problem: string): RegistryError {
  return new RegistryError('INVALID_ARGUMENT', `${field}: ${problem}`, { field });
}

function encodePageKey(key: PageKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function decodePageKey(token: string, sort: ImageSort | TagSort): PageKey | undefined {
  if (!token) return undefined;
  try {
    const key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<PageKey>;
    // A forged token may carry what no name holds (a NUL, which PostgreSQL's text refuses).
    if (key.sort === sort && typeof key.name === 'string' && !key.name.includes('\u0000') && (sort === 'name' || (typeof key.at === 'string' && !Number.isNaN(Date.parse(key.at))))) return key as PageKey;
  } catch {
    // fall through
  }
  throw invalid('page_token', 'is not a token this listing returned (for this sort order)');
}
