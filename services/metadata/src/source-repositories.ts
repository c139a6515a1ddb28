import type { Pool } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import type { AccessChanges } from './access-changes';
import type { ChangeOrigin } from './change-origin';
import { idempotentCreate } from './idempotency';
import { refuseIfAny, sourceRepositoryById, workspaceBySlug, type SourceRepositoryRecord } from './lookups';
import { page, type Page } from './paging';
import { decodePageToken, displayName, pageSize, slug, uuid } from './validation';

/**
 * Source repositories: the product's repositories, in a project, that
 * packages link to and inherit roles from (memberships.ts). One is deleted
 * once no package links to it (announced to `changes`). Every change is
 * audited in its transaction.
 */
export class SourceRepositories {
  constructor(private readonly pool: Pool, private readonly changes: AccessChanges) {}

  async create(input: { requestId: string; workspaceSlug: string; projectSlug: string; slug: string; name: string }, origin: ChangeOrigin): Promise<SourceRepositoryRecord> {
    const workspace = await workspaceBySlug(this.pool, input.workspaceSlug);
    const projectSlug = slug('project_slug', input.projectSlug);
    const repositorySlug = slug('slug', input.slug);
    const name = displayName('name', input.name, repositorySlug);
    const { rows: projects } = await this.pool.query<{ id: string }>('SELECT id FROM projects WHERE workspace_id = $1 AND slug = $2', [workspace.id, projectSlug]);
    if (!projects[0]) throw new RegistryError('NOT_FOUND', `project ${projectSlug} does not exist in ${workspace.slug}`, { field: 'project_slug' });
    const projectId = projects[0].id;
    return idempotentCreate(this.pool, input.requestId, 'repository', async (client) => {
      const { rows } = await client.query<{ id: string }>(
        'INSERT INTO source_repositories (project_id, workspace_id, slug, name) VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, slug) DO NOTHING RETURNING id',
        [projectId, workspace.id, repositorySlug, name],
      );
      if (!rows[0]) throw new RegistryError('ALREADY_EXISTS', `repository ${repositorySlug} already exists in ${workspace.slug}/${projectSlug}`, { field: 'slug' });
      await recordAudit(client, origin, { action: 'source-repository.created', workspace: workspace.slug, target: { type: 'source-repository', id: rows[0].id, name: `${workspace.slug}/${projectSlug}/${repositorySlug}` }, after: { name } });
      return { id: rows[0].id, value: { id: rows[0].id, workspaceSlug: workspace.slug, projectSlug, slug: repositorySlug, name } };
    }, (id) => sourceRepositoryById(this.pool, id));
  }

  async get(sourceRepositoryId: string): Promise<SourceRepositoryRecord> {
    return sourceRepositoryById(this.pool, uuid('source_repository_id', sourceRepositoryId));
  }

  async rename(sourceRepositoryId: string, name: string, origin: ChangeOrigin): Promise<SourceRepositoryRecord> {
    const repository = await this.get(sourceRepositoryId);
    const newName = displayName('name', name, repository.name);
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ name: string }>('SELECT name FROM source_repositories WHERE id = $1 FOR UPDATE', [repository.id]);
      if (!rows[0] || rows[0].name === newName) return;
      await client.query('UPDATE source_repositories SET name = $2 WHERE id = $1', [repository.id, newName]);
      await recordAudit(client, origin, { action: 'source-repository.renamed', workspace: repository.workspaceSlug, target: targetOf(repository), before: { name: rows[0].name }, after: { name: newName } });
    });
    return { ...repository, name: newName };
  }

  /** Source repositories; with `onlyIds`, only these. */
  async list(workspaceSlug: string, projectSlug: string, size: number, token: string, onlyIds?: string[]): Promise<Page<SourceRepositoryRecord>> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    if (projectSlug) slug('project_slug', projectSlug);
    const limit = pageSize(size);
    const { rows } = await this.pool.query<{ id: string; slug: string; name: string; project_slug: string; sort_key: string }>(
      `SELECT r.id, r.slug, r.name, p.slug AS project_slug, p.slug || '/' || r.slug AS sort_key
       FROM source_repositories r JOIN projects p ON p.id = r.project_id
       WHERE r.workspace_id = $1 AND ($2 = '' OR p.slug = $2) AND p.slug || '/' || r.slug > $3
         AND ($5::uuid[] IS NULL OR r.id = ANY($5::uuid[]))
       ORDER BY sort_key LIMIT $4`,
      [workspace.id, projectSlug, decodePageToken(token), limit + 1, onlyIds ?? null],
    );
    const items = rows.map((row) => ({ id: row.id, workspaceSlug: workspace.slug, projectSlug: row.project_slug, slug: row.slug, name: row.name }));
    return page(items, limit, (r) => `${r.projectSlug}/${r.slug}`);
  }

  /** Deletes a repository no package links to (its memberships go with it). */
  async delete(sourceRepositoryId: string, origin: ChangeOrigin): Promise<SourceRepositoryRecord> {
    const repository = await sourceRepositoryById(this.pool, uuid('source_repository_id', sourceRepositoryId));
    await refuseIfAny(this.pool, 'SELECT 1 FROM packages WHERE repository_id = $1 LIMIT 1', [sourceRepositoryId], `packages still link to repository ${sourceRepositoryId}; link them elsewhere or delete them first`);
    await inTransaction(this.pool, async (client) => {
      const deleted = await client.query('DELETE FROM source_repositories WHERE id = $1', [sourceRepositoryId]);
      if (deleted.rowCount) await recordAudit(client, origin, { action: 'source-repository.deleted', workspace: repository.workspaceSlug, target: targetOf(repository), before: { name: repository.name } });
    });
    await this.changes.announce(`workspace:${repository.workspaceSlug}`);
    return repository;
  }
}

function targetOf(repository: SourceRepositoryRecord) {
  return { type: 'source-repository', id: repository.id, name: `${repository.workspaceSlug}/${repository.projectSlug}/${repository.slug}` };
}
