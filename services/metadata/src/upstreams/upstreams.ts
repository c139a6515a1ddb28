import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { requireSourceRepositoryInWorkspace, workspaceBySlug } from '../lookups';
import { invalid, slug, uuid } from '../validation';
import type { CredentialSeal } from './credential-seal';
import { upstreamNamespaces, upstreamUrl, upstreamUsername, upstreamPassword, tagTtlSeconds } from './upstream-fields';

/** An upstream as it is shown: never its password, only whether it has one. */
export interface UpstreamRecord {
  id: string;
  workspaceSlug: string;
  name: string;
  url: string;
  username: string;
  hasPassword: boolean;
  sourceRepositoryId: string;
  namespaces: string[];
  tagTtlSeconds: number;
  createdAt: string;
}

/** What the gateway needs to fetch from an upstream: the record and its opened password. */
export interface ResolvedUpstream extends UpstreamRecord {
  password: string;
}

export interface CreateUpstreamInput {
  workspaceSlug: string;
  name: string;
  url: string;
  username: string;
  password: string;
  sourceRepositoryId: string;
  namespaces: string[];
  tagTtlSeconds: number;
}

interface UpstreamRow {
  id: string;
  name: string;
  url: string;
  username: string;
  password_sealed: Buffer | null;
  repository_id: string;
  namespaces: string[];
  tag_ttl_seconds: number;
  created_at: Date;
}

/**
 * The upstream registries of a workspace (pull-through cache): named like a
 * package path segment, each serves names `<workspace>/<name>/...` from its
 * URL into packages linked to its source repository. Passwords are sealed
 * before they reach SQL and opened only for ResolveUpstream.
 */
export class Upstreams {
  constructor(
    private readonly pool: Pool,
    private readonly seal: CredentialSeal,
  ) {}

  async create(input: CreateUpstreamInput): Promise<UpstreamRecord> {
    const workspace = await workspaceBySlug(this.pool, input.workspaceSlug);
    const name = slug('name', input.name);
    const url = upstreamUrl(input.url);
    const username = upstreamUsername(input.username);
    const password = upstreamPassword(input.password);
    if (password && !username) throw invalid('username', 'is needed with a password');
    const repositoryId = uuid('source_repository_id', input.sourceRepositoryId);
    await requireSourceRepositoryInWorkspace(this.pool, repositoryId, workspace.id, 'source_repository_id');
    const sealed = password ? this.seal.seal(password) : null;
    const { rows } = await this.pool.query<UpstreamRow>(
      `INSERT INTO upstreams (workspace_id, name, url, username, password_sealed, repository_id, namespaces, tag_ttl_seconds)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (workspace_id, name) DO NOTHING RETURNING *`,
      [workspace.id, name, url, username, sealed, repositoryId, upstreamNamespaces(input.namespaces), tagTtlSeconds(input.tagTtlSeconds)],
    );
    if (!rows[0]) throw new RegistryError('ALREADY_EXISTS', `upstream ${name} already exists in ${workspace.slug}`, { field: 'name' });
    return toRecord(rows[0], workspace.slug);
  }

  async list(workspaceSlug: string): Promise<UpstreamRecord[]> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const { rows } = await this.pool.query<UpstreamRow>('SELECT * FROM upstreams WHERE workspace_id = $1 ORDER BY name COLLATE "C"', [workspace.id]);
    return rows.map((row) => toRecord(row, workspace.slug));
  }

  async get(workspaceSlug: string, name: string): Promise<UpstreamRecord> {
    const { row, workspace } = await this.find(workspaceSlug, name);
    return toRecord(row, workspace);
  }

  /** The upstream with its password opened: for the gateway alone (ResolveUpstream). */
  async resolve(workspaceSlug: string, name: string): Promise<ResolvedUpstream | undefined> {
    const { rows } = await this.pool.query<UpstreamRow>(
      'SELECT u.* FROM upstreams u JOIN workspaces w ON w.id = u.workspace_id WHERE w.slug = $1 AND u.name = $2',
      [slug('workspace_slug', workspaceSlug), slug('name', name)],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { ...toRecord(row, workspaceSlug), password: row.password_sealed ? this.seal.open(row.password_sealed) : '' };
  }

  /** Removes an upstream; what it cached stays, as the packages it created (delete them like any other). */
  async delete(workspaceSlug: string, name: string): Promise<void> {
    const { row } = await this.find(workspaceSlug, name);
    await this.pool.query('DELETE FROM upstreams WHERE id = $1', [row.id]);
  }

  private async find(workspaceSlug: string, name: string): Promise<{ row: UpstreamRow; workspace: string }> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const { rows } = await this.pool.query<UpstreamRow>('SELECT * FROM upstreams WHERE workspace_id = $1 AND name = $2', [workspace.id, slug('name', name)]);
    if (!rows[0]) throw new RegistryError('NOT_FOUND', `upstream ${name} does not exist in ${workspace.slug}`, { field: 'name' });
    return { row: rows[0], workspace: workspace.slug };
  }
}

function toRecord(row: UpstreamRow, workspaceSlug: string): UpstreamRecord {
  return {
    id: row.id,
    workspaceSlug,
    name: row.name,
    url: row.url,
    username: row.username,
    hasPassword: row.password_sealed !== null,
    sourceRepositoryId: row.repository_id,
    namespaces: row.namespaces,
    tagTtlSeconds: row.tag_ttl_seconds,
    createdAt: row.created_at.toISOString(),
  };
}
