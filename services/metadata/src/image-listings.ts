import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { INDEX_MEDIA_TYPES, parseRepositoryName, parseTag } from '@ocireg/oci';
import type { Page } from './product-model';
import { decodePageToken, encodePageToken, invalid, pageSize, slug, uuid } from './validation';

export interface ImageSummary {
  name: string;
  repositoryId: string;
  tagCount: number;
  manifestCount: number;
  lastPushedAt: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant: string;
}

export interface ManifestDetails {
  digest: string;
  mediaType: string;
  size: number;
  platforms: Platform[];
  artifactType: string;
  pushedAt: string;
  tags: string[];
}

export interface TagDetails {
  tag: string;
  digest: string;
  updatedAt: string;
}

/**
 * Listings straight from metadata's tables (the indexer's read model takes
 * over for the product's listing pages): images per workspace, project or
 * repository; an image's tags and manifests; one tag.
 */
export class ImageListings {
  constructor(private readonly pool: Pool) {}

  async listImages(filter: { workspaceSlug: string; projectSlug: string; repositoryId: string }, size: number, token: string): Promise<Page<ImageSummary>> {
    if (filter.projectSlug) slug('project_slug', filter.projectSlug);
    if (filter.repositoryId) uuid('repository_id', filter.repositoryId);
    const limit = pageSize(size);
    const rows = await this.queryImages({ ...filter, name: '' }, decodePageToken(token), limit + 1);
    const page = rows.slice(0, limit);
    return { items: page, nextPageToken: rows.length > limit && page.length ? encodePageToken(page[page.length - 1]!.name) : '' };
  }

  private async queryImages(filter: { workspaceSlug: string; projectSlug: string; repositoryId: string; name: string }, after: string, limit: number): Promise<ImageSummary[]> {
    const workspace = slug('workspace_slug', filter.workspaceSlug);
    const { rows } = await this.pool.query<{ name: string; repository_id: string; tag_count: string; manifest_count: string; last_pushed_at: Date }>(
      `SELECT p.name, p.repository_id,
              (SELECT count(*) FROM tags t WHERE t.repository = w.slug || '/' || p.name) AS tag_count,
              count(m.digest) AS manifest_count, max(m.created_at) AS last_pushed_at
       FROM packages p
       JOIN workspaces w ON w.id = p.workspace_id
       JOIN source_repositories r ON r.id = p.repository_id
       JOIN projects pr ON pr.id = r.project_id
       JOIN manifests m ON m.repository = w.slug || '/' || p.name
       WHERE w.slug = $1 AND ($2 = '' OR pr.slug = $2) AND ($3 = '' OR p.repository_id::text = $3) AND ($6 = '' OR p.name = $6) AND p.name COLLATE "C" > $4
       GROUP BY p.id, w.slug ORDER BY p.name COLLATE "C" LIMIT $5`,
      [workspace, filter.projectSlug, filter.repositoryId, after, limit, filter.name],
    );
    return rows.map((row) => ({ name: row.name, repositoryId: row.repository_id, tagCount: Number(row.tag_count), manifestCount: Number(row.manifest_count), lastPushedAt: row.last_pushed_at.toISOString() }));
  }

  async getImage(workspaceSlug: string, name: string): Promise<{ image: ImageSummary; tags: TagDetails[]; manifests: ManifestDetails[] }> {
    const repository = this.repositoryName(workspaceSlug, name);
    const [image] = await this.queryImages({ workspaceSlug, projectSlug: '', repositoryId: '', name }, '', 1);
    if (!image) throw new RegistryError('NOT_FOUND', `image ${repository} does not exist or has no content`, { field: 'name' });
    const tags = await this.tags(repository);
    const manifests = await this.manifests(repository, tags);
    return { image, tags, manifests };
  }

  async getTag(workspaceSlug: string, name: string, tag: string): Promise<{ tag: TagDetails; manifest: ManifestDetails }> {
    const repository = this.repositoryName(workspaceSlug, name);
    try {
      parseTag(tag);
    } catch {
      throw invalid('tag', 'is not a valid tag');
    }
    const tags = await this.tags(repository);
    const found = tags.find((t) => t.tag === tag);
    if (!found) throw new RegistryError('NOT_FOUND', `tag ${tag} does not exist on ${repository}`, { field: 'tag' });
    const manifest = (await this.manifests(repository, tags)).find((m) => m.digest === found.digest)!;
    return { tag: found, manifest };
  }

  private repositoryName(workspaceSlug: string, name: string): string {
    try {
      return parseRepositoryName(`${slug('workspace_slug', workspaceSlug)}/${name}`).value;
    } catch {
      throw invalid('name', 'must follow the OCI repository name grammar');
    }
  }

  private async tags(repository: string): Promise<TagDetails[]> {
    const { rows } = await this.pool.query<{ name: string; digest: string; updated_at: Date }>('SELECT name, digest, updated_at FROM tags WHERE repository = $1 ORDER BY name COLLATE "C"', [repository]);
    return rows.map((row) => ({ tag: row.name, digest: row.digest, updatedAt: row.updated_at.toISOString() }));
  }

  private async manifests(repository: string, tags: TagDetails[]): Promise<ManifestDetails[]> {
    const { rows } = await this.pool.query<{ digest: string; media_type: string; content: Buffer; size: string; artifact_type: string | null; platform: string | null; created_at: Date; blob_bytes: string; child_blob_bytes: string }>(
      `SELECT m.digest, m.media_type, m.content, m.size, m.artifact_type, m.platform, m.created_at,
              COALESCE((SELECT SUM(b.size) FROM manifest_references r JOIN blobs b ON b.digest = r.referenced_digest
                        WHERE r.repository = m.repository AND r.manifest_digest = m.digest AND r.kind = 'blob'), 0) AS blob_bytes,
              COALESCE((SELECT SUM(b.size) FROM manifest_references r
                        JOIN manifest_references cr ON cr.repository = r.repository AND cr.manifest_digest = r.referenced_digest AND cr.kind = 'blob'
                        JOIN blobs b ON b.digest = cr.referenced_digest
                        WHERE r.repository = m.repository AND r.manifest_digest = m.digest AND r.kind = 'manifest'), 0) AS child_blob_bytes
       FROM manifests m WHERE m.repository = $1 ORDER BY m.created_at DESC, m.digest`,
      [repository],
    );
    return rows.map((row) => ({
      digest: row.digest,
      mediaType: row.media_type,
      size: Number(row.size) + Number(row.blob_bytes) + Number(row.child_blob_bytes),
      platforms: INDEX_MEDIA_TYPES.has(row.media_type) ? platformsOf(row.content) : row.platform ? [platformFrom(row.platform)] : [],
      artifactType: row.artifact_type ?? '',
      pushedAt: row.created_at.toISOString(),
      tags: tags.filter((t) => t.digest === row.digest).map((t) => t.tag),
    }));
  }
}

function platformFrom(text: string): Platform {
  const [os = '', architecture = '', variant = ''] = text.split('/');
  return { os, architecture, variant };
}

/** Platforms an index lists for its entries (attestations carry "unknown" and are left out). */
function platformsOf(content: Buffer): Platform[] {
  try {
    const index = JSON.parse(content.toString('utf8')) as { manifests?: Array<{ platform?: { os?: string; architecture?: string; variant?: string } }> };
    return (index.manifests ?? [])
      .map((entry) => entry.platform)
      .filter((p): p is { os?: string; architecture?: string; variant?: string } => !!p && p.os !== 'unknown')
      .map((p) => ({ os: p.os ?? '', architecture: p.architecture ?? '', variant: p.variant ?? '' }));
  } catch {
    return [];
  }
}
