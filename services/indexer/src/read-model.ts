import type { Pool } from 'pg';
import { inTransaction } from '@ocireg/postgres';

/** The envelope metadata writes (docs/events.md), version 1. */
export interface RegistryEvent {
  schemaVersion: number;
  id: string;
  time: string;
  action: string;
  target: { workspace: string; repository: string; package?: string; digest?: string; tag?: string };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Why an event cannot be applied (it goes to the dead-letter topic), or undefined. */
export function rejectionOf(event: unknown): string | undefined {
  const e = event as Partial<RegistryEvent> | undefined;
  if (!e || typeof e !== 'object') return 'not a JSON object';
  if (e.schemaVersion !== 1) return `unsupported schemaVersion ${String(e.schemaVersion)}`;
  if (typeof e.id !== 'string' || !UUID.test(e.id)) return 'missing or malformed id';
  if (typeof e.time !== 'string' || Number.isNaN(Date.parse(e.time))) return 'missing or malformed time';
  if (typeof e.action !== 'string') return 'missing action';
  if (!e.target || typeof e.target.repository !== 'string' || typeof e.target.workspace !== 'string') return 'missing target';
  return undefined;
}

export interface ImageListing {
  repository: string;
  lastDigest: string;
  lastPushedAt: string;
  tagCount: number;
}

/** Applies events idempotently (each event id once) and answers listing queries. */
export class ReadModel {
  constructor(private readonly pool: Pool) {}

  /** Returns false when the event was already applied. */
  async apply(event: RegistryEvent): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const fresh = await client.query('INSERT INTO idx_applied_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING', [event.id]);
      if (fresh.rowCount === 0) return false;
      const { target } = event;
      switch (event.action) {
        case 'manifest.pushed':
          await client.query(
            `INSERT INTO idx_images (repository, workspace, package, last_digest, last_pushed_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (repository) DO UPDATE SET
               last_digest = CASE WHEN EXCLUDED.last_pushed_at >= idx_images.last_pushed_at THEN EXCLUDED.last_digest ELSE idx_images.last_digest END,
               last_pushed_at = GREATEST(idx_images.last_pushed_at, EXCLUDED.last_pushed_at)`,
            [target.repository, target.workspace, target.package ?? '', target.digest ?? '', event.time],
          );
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
          // manifest.deleted, package.linked and future actions: nothing to list yet.
          break;
      }
      return true;
    });
  }

  async listImages(workspace: string, limit: number, after: string): Promise<{ images: ImageListing[]; next: string }> {
    const { rows } = await this.pool.query<{ repository: string; last_digest: string; last_pushed_at: Date; tag_count: string }>(
      `SELECT i.repository, i.last_digest, i.last_pushed_at, (SELECT count(*) FROM idx_tags t WHERE t.repository = i.repository) AS tag_count
       FROM idx_images i WHERE i.workspace = $1 AND i.repository COLLATE "C" > $2 ORDER BY i.repository COLLATE "C" LIMIT $3`,
      [workspace, after, limit + 1],
    );
    const images = rows.slice(0, limit).map((row) => ({ repository: row.repository, lastDigest: row.last_digest, lastPushedAt: row.last_pushed_at.toISOString(), tagCount: Number(row.tag_count) }));
    return { images, next: rows.length > limit ? (images[images.length - 1]?.repository ?? '') : '' };
  }
}
