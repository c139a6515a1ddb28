import type { Pool, PoolClient } from 'pg';
import type { RegistryEvent } from '@ocireg/events';
import { inTransaction } from '@ocireg/postgres';
import { foldedTagSql } from './folded-tags';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Actions whose target must name what they change. */
const NEEDS: Record<string, ReadonlyArray<keyof RegistryEvent['target']>> = {
  'manifest.pushed': ['digest', 'mediaType', 'manifest'],
  'manifest.described': ['digest'],
  'manifest.deleted': ['digest'],
  'tag.updated': ['digest', 'tag'],
  'tag.deleted': ['tag'],
  'package.linked': ['linkedRepositoryId'],
};

export type { RegistryEvent };

/** Why an event cannot be applied (it goes to the dead-letter topic), or undefined. */
export function rejectionOf(event: unknown): string | undefined {
  const e = event as Partial<RegistryEvent> | undefined;
  if (!e || typeof e !== 'object') return 'not a JSON object';
  if (e.schemaVersion !== 1) return `unsupported schemaVersion ${String(e.schemaVersion)}`;
  if (typeof e.id !== 'string' || !UUID.test(e.id)) return 'missing or malformed id';
  if (typeof e.time !== 'string' || Number.isNaN(Date.parse(e.time))) return 'missing or malformed time';
  if (typeof e.action !== 'string') return 'missing action';
  if (!e.target || typeof e.target.repository !== 'string' || typeof e.target.workspace !== 'string') return 'missing target';
  if (!e.target.repository.startsWith(`${e.target.workspace}/`)) return 'target repository is not in its workspace';
  const missing = (NEEDS[e.action] ?? []).filter((field) => e.target?.[field] === undefined || e.target[field] === '');
  if (missing.length > 0) return `${e.action} without target.${missing.join(', target.')}`;
  return undefined;
}

/**
 * Applies registry events to the listing tables. Each event id is applied
 * once; times guard against older events overwriting newer state, so a
 * replay or a rebuild gives the same tables.
 */
export class ReadModel {
  constructor(private readonly pool: Pool) {}

  /** Returns false when the event was already applied. */
  async apply(event: RegistryEvent): Promise<boolean> {
    return (await this.applyBatch([event])) === 1;
  }

  /**
   * Applies events in order in one transaction (one commit for a whole batch
   * is what makes catching up fast), refreshing each touched image once.
   * Returns how many were new.
   */
  async applyBatch(events: RegistryEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ event_id: string }>(
        'INSERT INTO idx_applied_events (event_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id',
        [events.map((event) => event.id)],
      );
      const fresh = new Set(rows.map((row) => row.event_id));
      const touched = new Map<string, string>();
      for (const event of events) {
        // A batch may hold one id twice (a redelivery): apply it once.
        if (!fresh.delete(event.id)) continue;
        if (await applyChange(client, event)) touched.set(event.target.repository, event.target.workspace);
      }
      for (const [repository, workspace] of touched) await refreshImage(client, repository, workspace);
      return rows.length;
    });
  }

  /**
   * Forgets applied event ids older than the retention. Transports keep
   * events a week (Kafka's default, the PostgreSQL log's), so a redelivery
   * never reaches further back; a replay that does is still safe, because
   * times guard every change and a stream's deletes follow its pushes.
   */
  async pruneAppliedEvents(retentionDays = 30): Promise<number> {
    const deleted = await this.pool.query("DELETE FROM idx_applied_events WHERE applied_at < now() - $1 * interval '1 day'", [retentionDays]);
    return deleted.rowCount ?? 0;
  }

  /**
   * Replaces the listing tables with what `events` (a snapshot of metadata)
   * build, in one transaction: readers see the old model until it commits.
   * Applied event ids stay, so redelivered live events are still skipped.
   */
  async rebuild(snapshotPages: AsyncIterable<RegistryEvent[]>): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      await client.query('LOCK TABLE idx_packages, idx_manifests, idx_tags, idx_images IN EXCLUSIVE MODE');
      await client.query('TRUNCATE idx_packages, idx_manifests, idx_tags, idx_images');
      let applied = 0;
      for await (const events of snapshotPages) {
        const touched = new Map<string, string>();
        for (const event of events) {
          if (await applyChange(client, event)) touched.set(event.target.repository, event.target.workspace);
          applied += 1;
        }
        for (const [repository, workspace] of touched) await refreshImage(client, repository, workspace);
      }
      return applied;
    });
  }
}

/** Applies one event's change; returns whether the image row needs a refresh. */
async function applyChange(client: PoolClient, event: RegistryEvent): Promise<boolean> {
  const { target } = event;
  switch (event.action) {
    case 'package.linked':
      await client.query(
        `INSERT INTO idx_packages (repository, workspace, name, source_repository_id, project, linked_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (repository) DO UPDATE SET source_repository_id = EXCLUDED.source_repository_id, project = EXCLUDED.project, linked_at = EXCLUDED.linked_at
         WHERE idx_packages.linked_at <= EXCLUDED.linked_at`,
        [target.repository, target.workspace, packageName(target), target.linkedRepositoryId, target.project ?? '', event.time],
      );
      return false;
    case 'package.deleted':
      await client.query('DELETE FROM idx_packages WHERE repository = $1 AND linked_at <= $2', [target.repository, event.time]);
      return false;
    case 'manifest.pushed':
      await insertManifest(client, event);
      break;
    case 'manifest.described':
      // What the config says, known once the push answered: fills in what the push event could not.
      await client.query(
        `UPDATE idx_manifests SET platform_os = COALESCE(platform_os, $3), platform_architecture = COALESCE(platform_architecture, $4),
           platform_variant = COALESCE(platform_variant, $5), created = COALESCE(created, $6)
         WHERE repository = $1 AND digest = $2 AND kind = 'image'`,
        [target.repository, target.digest, target.platform?.os ?? null, target.platform?.architecture ?? null, target.platform?.variant ?? null, target.created ?? null],
      );
      return false;
    case 'manifest.deleted':
      await client.query('DELETE FROM idx_manifests WHERE repository = $1 AND digest = $2 AND pushed_at <= $3', [target.repository, target.digest, event.time]);
      break;
    case 'tag.updated':
      await client.query(
        `INSERT INTO idx_tags (repository, tag, digest, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (repository, tag) DO UPDATE SET digest = EXCLUDED.digest, updated_at = EXCLUDED.updated_at WHERE idx_tags.updated_at <= EXCLUDED.updated_at`,
        [target.repository, target.tag, target.digest, event.time],
      );
      break;
    case 'tag.deleted':
      await client.query('DELETE FROM idx_tags WHERE repository = $1 AND tag = $2 AND updated_at <= $3', [target.repository, target.tag, event.time]);
      break;
    default:
      // Actions added later: nothing to list (docs/events.md: consumers ignore them).
      return false;
  }
  return true;
}

async function insertManifest(client: PoolClient, event: RegistryEvent): Promise<void> {
  const { target } = event;
  const facts = target.manifest!;
  await client.query(
    `INSERT INTO idx_manifests (repository, digest, media_type, kind, artifact_type, manifest_size, platform_os, platform_architecture, platform_variant, created, subject, config, layers, entries, pushed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (repository, digest) DO NOTHING`,
    [
      target.repository,
      target.digest,
      target.mediaType,
      facts.kind,
      facts.artifactType,
      target.size ?? 0,
      facts.platform?.os ?? null,
      facts.platform?.architecture ?? null,
      facts.platform?.variant ?? null,
      facts.created ?? null,
      facts.subject ?? null,
      facts.config ? JSON.stringify(facts.config) : null,
      JSON.stringify(facts.layers),
      JSON.stringify(facts.entries),
      event.time,
    ],
  );
}

/**
 * Recomputes a repository's listing row from its manifests and tags (or
 * removes it when it holds none). Its tag count leaves out the tags listed
 * under their subject (folded-tags.ts); any change to the repository's
 * manifests or tags runs this, so the count follows subjects coming and going.
 */
async function refreshImage(client: PoolClient, repository: string, workspace: string): Promise<void> {
  const updated = await client.query(
    `WITH latest AS (
       SELECT digest, at FROM (
         (SELECT digest, pushed_at AS at FROM idx_manifests WHERE repository = $1 ORDER BY pushed_at DESC, digest DESC LIMIT 1)
         UNION ALL (SELECT digest, updated_at FROM idx_tags WHERE repository = $1 ORDER BY updated_at DESC, digest DESC LIMIT 1)
       ) activity ORDER BY at DESC, digest DESC LIMIT 1
     ), blobs AS (
       SELECT DISTINCT b->>'digest' AS digest, (b->>'size')::bigint AS size
       FROM idx_manifests m, jsonb_array_elements(m.layers || CASE WHEN m.config IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(m.config) END) b
       WHERE m.repository = $1
     )
     INSERT INTO idx_images (repository, workspace, name, last_digest, last_pushed_at, tag_count, manifest_count, total_size)
     SELECT $1, $2, substr($1, length($2) + 2), latest.digest, latest.at,
            (SELECT count(*) FROM idx_tags t WHERE t.repository = $1 AND NOT ${foldedTagSql('t')}),
            (SELECT count(*) FROM idx_manifests WHERE repository = $1),
            (SELECT COALESCE(sum(size), 0) FROM blobs)
     FROM latest WHERE EXISTS (SELECT 1 FROM idx_manifests WHERE repository = $1)
     ON CONFLICT (repository) DO UPDATE SET last_digest = EXCLUDED.last_digest, last_pushed_at = EXCLUDED.last_pushed_at,
       tag_count = EXCLUDED.tag_count, manifest_count = EXCLUDED.manifest_count, total_size = EXCLUDED.total_size`,
    [repository, workspace],
  );
  if (updated.rowCount === 0) await client.query('DELETE FROM idx_images WHERE repository = $1', [repository]);
}

function packageName(target: RegistryEvent['target']): string {
  return target.package || target.repository.slice(target.workspace.length + 1);
}
