import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName, parseTag } from '@ocireg/oci';
import { toManifestRecord, type ManifestRecord, type ManifestRow } from './manifests';
import { checkMarker } from './paging';

/** Tags one ResolveTags call may look up. */
export const MAX_TAG_LOOKUPS = 64;

/**
 * Reading tags: many resolved to their manifests at once, and a repository's
 * tags listed a page at a time. Tags are set by pushes (manifests.ts) and
 * removed by deletions (deletions.ts). Every input is validated before SQL.
 */
export class Tags {
  constructor(private readonly pool: Pool) {}

  /**
   * Many tags at once, in one query (the gateway batches concurrent pulls'
   * lookups): the manifest each tag points to, or undefined, in the order asked.
   */
  async resolve(lookups: ReadonlyArray<{ repository: string; tag: string; withoutContent: boolean }>): Promise<Array<ManifestRecord | undefined>> {
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

  /** Tags in lexical (byte) order after `after`; reports whether more follow. */
  async list(repository: string, limit: number, after: string): Promise<{ tags: string[]; hasMore: boolean }> {
    parseRepositoryName(repository);
    checkMarker(after);
    const { rows } = await this.pool.query<{ name: string }>(
      'SELECT name FROM tags WHERE repository = $1 AND name COLLATE "C" > $2 ORDER BY name COLLATE "C" LIMIT $3',
      [repository, after, limit + 1],
    );
    if (rows.length === 0 && after === '') await this.requireRepository(repository);
    return { tags: rows.slice(0, limit).map((row) => row.name), hasMore: rows.length > limit };
  }

  /**
   * A name is known while it holds a manifest or is a package: a package whose
   * content was all deleted lists no tags (as CNCF Distribution lists a
   * repository whose manifests were deleted) rather than being unknown.
   */
  private async requireRepository(repository: string): Promise<void> {
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM manifests WHERE repository = $1
       UNION ALL
       SELECT 1 FROM packages p JOIN workspaces w ON w.id = p.workspace_id
        WHERE w.slug = split_part($1, '/', 1) AND p.name = substr($1, length(w.slug) + 2)
       LIMIT 1`,
      [repository],
    );
    if (!rowCount) throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known to the registry`, { name: repository });
  }
}
