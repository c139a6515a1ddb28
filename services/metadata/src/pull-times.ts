import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { parseDigest, parseRepositoryName, parseTag } from '@ocireg/oci';
import { invalid } from './validation';

/** Pulls one RecordPulls call may carry (the gateway sends larger batches in calls of this size). */
export const MAX_PULLS_PER_CALL = 1000;
/** Tags, and digests, one ListPullTimes call may ask about. */
export const MAX_PULL_TIME_LOOKUPS = 5000;

/** One pull as the gateway saw it: a manifest served, by tag or by digest. */
export interface Pull {
  repository: string;
  /** The tag pulled; '' for a pull by digest. */
  tag: string;
  /** The manifest served. */
  digest: string;
  pulledAt: Date;
}

/**
 * When tags and manifests were last pulled (issue 24): `tags.last_pulled_at`
 * and `manifests.last_pulled_at`, NULL until the first pull. The gateway
 * collects pulls off the pull path and records them in batches; each batch is
 * one statement, times only move forward, and pulls of what no longer exists
 * change nothing. Retention rules ("pulled within D days") read the columns.
 */
export class PullTimes {
  constructor(private readonly pool: Pool) {}

  /**
   * Records a batch of pulls: a pull by tag moves the tag's time and the
   * served manifest's; a pull by digest the manifest's. A time after the
   * database's now (a gateway clock ahead) counts as now. One statement: the
   * tags' update is a data-modifying CTE of the manifests' update, and the
   * batch is folded per row first (UPDATE ... FROM takes one source row per target).
   */
  async record(pulls: readonly Pull[]): Promise<{ tagsUpdated: number; manifestsUpdated: number }> {
    if (pulls.length > MAX_PULLS_PER_CALL) throw new RegistryError('INVALID_ARGUMENT', `at most ${MAX_PULLS_PER_CALL} pulls per call, not ${pulls.length}`);
    for (const pull of pulls) {
      parseRepositoryName(pull.repository);
      if (pull.tag !== '') parseTag(pull.tag);
      parseDigest(pull.digest);
      if (Number.isNaN(pull.pulledAt.getTime())) throw invalid('pulls.pulled_at', 'must be an RFC 3339 time');
    }
    if (pulls.length === 0) return { tagsUpdated: 0, manifestsUpdated: 0 };
    const { rows } = await this.pool.query<{ tags_updated: string; manifests_updated: string }>(
      `WITH pulls AS (
         SELECT repository, tag, digest, LEAST(pulled_at, now()) AS pulled_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS p(repository, tag, digest, pulled_at)
       ), tag_pulls AS (
         SELECT repository, tag, max(pulled_at) AS pulled_at FROM pulls WHERE tag <> '' GROUP BY repository, tag
       ), manifest_pulls AS (
         SELECT repository, digest, max(pulled_at) AS pulled_at FROM pulls GROUP BY repository, digest
       ), tags_updated AS (
         UPDATE tags t SET last_pulled_at = GREATEST(t.last_pulled_at, p.pulled_at)
         FROM tag_pulls p
         WHERE t.repository = p.repository AND t.name = p.tag AND (t.last_pulled_at IS NULL OR t.last_pulled_at < p.pulled_at)
         RETURNING 1
       ), manifests_updated AS (
         UPDATE manifests m SET last_pulled_at = GREATEST(m.last_pulled_at, p.pulled_at)
         FROM manifest_pulls p
         WHERE m.repository = p.repository AND m.digest = p.digest AND (m.last_pulled_at IS NULL OR m.last_pulled_at < p.pulled_at)
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM tags_updated) AS tags_updated, (SELECT count(*) FROM manifests_updated) AS manifests_updated`,
      [pulls.map((p) => p.repository), pulls.map((p) => p.tag), pulls.map((p) => p.digest), pulls.map((p) => p.pulledAt.toISOString())],
    );
    return { tagsUpdated: Number(rows[0]!.tags_updated), manifestsUpdated: Number(rows[0]!.manifests_updated) };
  }

  /** When the given tags and manifests of `repository` were last pulled; those never pulled (or unknown) are left out. */
  async of(repository: string, tags: readonly string[], digests: readonly string[]): Promise<{ tags: Map<string, Date>; manifests: Map<string, Date> }> {
    parseRepositoryName(repository);
    if (tags.length > MAX_PULL_TIME_LOOKUPS || digests.length > MAX_PULL_TIME_LOOKUPS) {
      throw new RegistryError('INVALID_ARGUMENT', `at most ${MAX_PULL_TIME_LOOKUPS} tags and ${MAX_PULL_TIME_LOOKUPS} digests per call`);
    }
    for (const tag of tags) parseTag(tag);
    for (const digest of digests) parseDigest(digest);
    const { rows } = await this.pool.query<{ kind: 'tag' | 'manifest'; reference: string; last_pulled_at: Date }>(
      `SELECT 'tag' AS kind, name AS reference, last_pulled_at FROM tags
        WHERE repository = $1 AND name = ANY($2::text[]) AND last_pulled_at IS NOT NULL
       UNION ALL
       SELECT 'manifest', digest, last_pulled_at FROM manifests
        WHERE repository = $1 AND digest = ANY($3::text[]) AND last_pulled_at IS NOT NULL`,
      [repository, [...tags], [...digests]],
    );
    const found = { tags: new Map<string, Date>(), manifests: new Map<string, Date>() };
    for (const row of rows) (row.kind === 'tag' ? found.tags : found.manifests).set(row.reference, row.last_pulled_at);
    return found;
  }
}
