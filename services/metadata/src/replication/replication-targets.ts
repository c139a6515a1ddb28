import type { Pool } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import type { ChangeOrigin } from '../change-origin';
import { workspaceBySlug } from '../lookups';
import type { CredentialSeal } from '../upstreams/credential-seal';
import { invalid, slug } from '../validation';
import { destinationPrefix, packagePattern, targetPassword, targetUrl, targetUsername } from './target-fields';

/** A target as it is shown: never its password, only whether it has one. */
export interface ReplicationTargetRecord {
  id: string;
  workspaceSlug: string;
  name: string;
  url: string;
  username: string;
  hasPassword: boolean;
  packagePattern: string;
  destinationPrefix: string;
  enabled: boolean;
  createdAt: string;
  counts: { pending: number; succeeded: number; failed: number };
}

export interface CreateReplicationTargetInput {
  workspaceSlug: string;
  name: string;
  url: string;
  username: string;
  password: string;
  packagePattern: string;
  destinationPrefix: string;
  enabled: boolean;
}

export interface ReplicationTargetRow {
  id: string;
  name: string;
  url: string;
  username: string;
  password_sealed: Buffer | null;
  package_pattern: string;
  destination_prefix: string;
  enabled: boolean;
  created_at: Date;
}

const COUNTS = `(SELECT json_build_object(
    'pending', count(*) FILTER (WHERE j.state IN ('pending', 'running')),
    'succeeded', count(*) FILTER (WHERE j.state = 'succeeded'),
    'failed', count(*) FILTER (WHERE j.state = 'failed'))
  FROM replication_jobs j WHERE j.target_id = t.id) AS counts`;

/**
 * The registries a workspace replicates its new tags to (docs/replication.md):
 * created and deleted by operators and the workspace's admins (audited in the
 * change's transaction), listed by whoever sees the workspace. Passwords are
 * sealed before they reach SQL and opened only for the gateway's claims
 * (replication-jobs.ts).
 */
export class ReplicationTargets {
  constructor(
    private readonly pool: Pool,
    private readonly seal: CredentialSeal,
  ) {}

  async create(input: CreateReplicationTargetInput, origin: ChangeOrigin): Promise<ReplicationTargetRecord> {
    const workspace = await workspaceBySlug(this.pool, input.workspaceSlug);
    const name = slug('name', input.name);
    const url = targetUrl(input.url);
    const username = targetUsername(input.username);
    const password = targetPassword(input.password);
    if (password && !username) throw invalid('username', 'is needed with a password');
    const pattern = packagePattern(input.packagePattern);
    const prefix = destinationPrefix(input.destinationPrefix);
    const sealed = password ? this.seal.seal(password) : null;
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<ReplicationTargetRow>(
        `INSERT INTO replication_targets (workspace_id, name, url, username, password_sealed, package_pattern, destination_prefix, enabled, seal_key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (workspace_id, name) DO NOTHING RETURNING *`,
        [workspace.id, name, url, username, sealed, pattern, prefix, input.enabled, this.seal.keyId],
      );
      const row = rows[0];
      if (!row) throw new RegistryError('ALREADY_EXISTS', `replication target ${name} already exists in ${workspace.slug}`, { field: 'name' });
      await recordAudit(client, origin, {
        action: 'replication-target.created',
        workspace: workspace.slug,
        target: { type: 'replication-target', id: row.id, name: `${workspace.slug}/${name}` },
        after: { url, username, packagePattern: pattern, destinationPrefix: prefix, enabled: input.enabled },
      });
      return toRecord(row, workspace.slug);
    });
  }

  async list(workspaceSlug: string): Promise<ReplicationTargetRecord[]> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const { rows } = await this.pool.query<ReplicationTargetRow & { counts: ReplicationTargetRecord['counts'] }>(
      `SELECT t.*, ${COUNTS} FROM replication_targets t WHERE t.workspace_id = $1 ORDER BY t.name COLLATE "C"`,
      [workspace.id],
    );
    return rows.map((row) => toRecord(row, workspace.slug, row.counts));
  }

  async get(workspaceSlug: string, name: string): Promise<ReplicationTargetRecord> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const { rows } = await this.pool.query<ReplicationTargetRow & { counts: ReplicationTargetRecord['counts'] }>(
      `SELECT t.*, ${COUNTS} FROM replication_targets t WHERE t.workspace_id = $1 AND t.name = $2`,
      [workspace.id, slug('name', name)],
    );
    if (!rows[0]) throw notFound(name, workspace.slug);
    return toRecord(rows[0], workspace.slug, rows[0].counts);
  }

  /** The target's id in its workspace, or NOT_FOUND. */
  async idOf(workspaceSlug: string, name: string): Promise<string> {
    return (await this.get(workspaceSlug, name)).id;
  }

  /** Removes a target and its jobs (a job being pushed finishes, and its report is ignored). */
  async delete(workspaceSlug: string, name: string, origin: ChangeOrigin): Promise<void> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<ReplicationTargetRow>('DELETE FROM replication_targets WHERE workspace_id = $1 AND name = $2 RETURNING *', [workspace.id, slug('name', name)]);
      const row = rows[0];
      if (!row) throw notFound(name, workspace.slug);
      await recordAudit(client, origin, {
        action: 'replication-target.deleted',
        workspace: workspace.slug,
        target: { type: 'replication-target', id: row.id, name: `${workspace.slug}/${row.name}` },
        before: { url: row.url, packagePattern: row.package_pattern, destinationPrefix: row.destination_prefix, enabled: row.enabled },
      });
    });
  }
}

function notFound(name: string, workspaceSlug: string): RegistryError {
  return new RegistryError('NOT_FOUND', `replication target ${name.slice(0, 64)} does not exist in ${workspaceSlug}`, { field: 'name' });
}

function toRecord(row: ReplicationTargetRow, workspaceSlug: string, counts?: ReplicationTargetRecord['counts']): ReplicationTargetRecord {
  return {
    id: row.id,
    workspaceSlug,
    name: row.name,
    url: row.url,
    username: row.username,
    hasPassword: row.password_sealed !== null,
    packagePattern: row.package_pattern,
    destinationPrefix: row.destination_prefix,
    enabled: row.enabled,
    createdAt: row.created_at.toISOString(),
    counts: { pending: Number(counts?.pending ?? 0), succeeded: Number(counts?.succeeded ?? 0), failed: Number(counts?.failed ?? 0) },
  };
}
