import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { describeManifest } from '@ocireg/oci';
import { inTransaction } from '@ocireg/postgres';
import type { EventEnvelope, EventTarget } from './outbox';
import { decodePageToken, encodePageToken } from './validation';

const SNAPSHOT_ORIGIN = { actor: '', requestId: 'listing-snapshot' };

/**
 * The listing-relevant state as the events that would build it, with the
 * times the rows carry (the same times the live events had). The indexer
 * rebuilds its read model from these, a page of repositories at a time.
 */
export class ListingSnapshot {
  constructor(private readonly pool: Pool) {}

  /** One page, read in one REPEATABLE READ transaction so its packages, manifests and tags agree. */
  page(size: number, token: string): Promise<{ events: EventEnvelope[]; nextPageToken: string }> {
    return inTransaction(this.pool, (client) => this.readPage(client, size, token), { isolation: 'repeatable read', readOnly: true });
  }

  private async readPage(client: PoolClient, size: number, token: string): Promise<{ events: EventEnvelope[]; nextPageToken: string }> {
    const limit = Math.min(Math.max(size, 0) || 100, 1000);
    const { rows: names } = await client.query<{ repository: string }>(
      `SELECT repository FROM (
         SELECT w.slug || '/' || p.name AS repository FROM packages p JOIN workspaces w ON w.id = p.workspace_id
         UNION SELECT repository FROM manifests
       ) r WHERE repository COLLATE "C" > $1 ORDER BY repository COLLATE "C" LIMIT $2`,
      [decodePageToken(token), limit + 1],
    );
    const repositories = names.slice(0, limit).map((row) => row.repository);
    const events = (await eventsOf(client, repositories)).sort(byRepositoryThenKind);
    const last = repositories[repositories.length - 1];
    return { events, nextPageToken: names.length > limit && last ? encodePageToken(last) : '' };
  }
}

/** The page's state as events: every package, then manifests by push time, then tags by update time. */
async function eventsOf(client: PoolClient, repositories: string[]): Promise<EventEnvelope[]> {
  if (repositories.length === 0) return [];
  const packages = await client.query<{ workspace: string; name: string; repository_id: string; project: string; linked_at: Date }>(
    `SELECT w.slug AS workspace, p.name, p.repository_id, pr.slug AS project, p.linked_at
     FROM packages p JOIN workspaces w ON w.id = p.workspace_id
     JOIN source_repositories r ON r.id = p.repository_id JOIN projects pr ON pr.id = r.project_id
     WHERE w.slug || '/' || p.name = ANY($1::text[])`,
    [repositories],
  );
  const manifests = await client.query<{ repository: string; digest: string; media_type: string; content: Buffer; size: string; platform: string | null; config_created: Date | null; created_at: Date }>(
    `SELECT repository, digest, media_type, content, size, platform, config_created, created_at FROM manifests
     WHERE repository = ANY($1::text[]) ORDER BY created_at, digest`,
    [repositories],
  );
  const tags = await client.query<{ repository: string; name: string; digest: string; updated_at: Date }>(
    'SELECT repository, name, digest, updated_at FROM tags WHERE repository = ANY($1::text[]) ORDER BY updated_at, name',
    [repositories],
  );
  return [
    ...packages.rows.map((row) =>
      envelope('package.linked', row.linked_at, { workspace: row.workspace, repository: `${row.workspace}/${row.name}`, package: row.name, linkedRepositoryId: row.repository_id, project: row.project }),
    ),
    ...manifests.rows.map((row) =>
      envelope('manifest.pushed', row.created_at, {
        ...nameOf(row.repository),
        digest: row.digest,
        mediaType: row.media_type,
        size: Number(row.size),
        manifest: describeManifest({ mediaType: row.media_type, content: row.content, platform: row.platform ?? undefined, created: row.config_created?.toISOString() }),
      }),
    ),
    ...tags.rows.map((row) => envelope('tag.updated', row.updated_at, { ...nameOf(row.repository), digest: row.digest, tag: row.name })),
  ];
}

const KIND_ORDER: Record<string, number> = { 'package.linked': 0, 'manifest.pushed': 1, 'tag.updated': 2 };

/** Packages before their manifests before their tags; the queries already ordered each kind by time. */
function byRepositoryThenKind(a: EventEnvelope, b: EventEnvelope): number {
  if (a.target.repository !== b.target.repository) return a.target.repository < b.target.repository ? -1 : 1;
  return (KIND_ORDER[a.action] ?? 9) - (KIND_ORDER[b.action] ?? 9);
}

function nameOf(repository: string): Pick<EventTarget, 'workspace' | 'repository' | 'package'> {
  const slash = repository.indexOf('/');
  return { workspace: repository.slice(0, slash), repository, package: repository.slice(slash + 1) };
}

function envelope(action: EventEnvelope['action'], time: Date, target: EventTarget): EventEnvelope {
  return { schemaVersion: 1, id: randomUUID(), time: time.toISOString(), action, target, ...SNAPSHOT_ORIGIN };
}
