import type { Pool } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import type { ChangeOrigin } from './change-origin';
import { idempotentCreate } from './idempotency';
import { refuseIfAny, workspaceBySlug, type ProjectRecord } from './lookups';
import { page, type Page } from './paging';
import { decodePageToken, displayName, pageSize, slug } from './validation';

/** Projects group a workspace's source repositories; one is deleted once it holds none. Every change is audited in its transaction. */
export class Projects {
  constructor(private readonly pool: Pool) {}

  async create(input: { requestId: string; workspaceSlug: string; slug: string; name: string }, origin: ChangeOrigin): Promise<ProjectRecord> {
    const workspace = await workspaceBySlug(this.pool, input.workspaceSlug);
    const projectSlug = slug('slug', input.slug);
    const name = displayName('name', input.name, projectSlug);
    return idempotentCreate(this.pool, input.requestId, 'project', async (client) => {
      const { rows } = await client.query<{ id: string }>(
        'INSERT INTO projects (workspace_id, slug, name) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, slug) DO NOTHING RETURNING id',
        [workspace.id, projectSlug, name],
      );
      if (!rows[0]) throw new RegistryError('ALREADY_EXISTS', `project ${projectSlug} already exists in ${workspace.slug}`, { field: 'slug' });
      await recordAudit(client, origin, { action: 'project.created', workspace: workspace.slug, target: { type: 'project', id: rows[0].id, name: `${workspace.slug}/${projectSlug}` }, after: { name } });
      return { id: rows[0].id, value: { id: rows[0].id, workspaceSlug: workspace.slug, slug: projectSlug, name } };
    }, (id) => this.projectById(id));
  }

  async get(workspaceSlug: string, projectSlug: string): Promise<ProjectRecord> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const { rows } = await this.pool.query<{ id: string; slug: string; name: string }>('SELECT id, slug, name FROM projects WHERE workspace_id = $1 AND slug = $2', [workspace.id, slug('slug', projectSlug)]);
    if (!rows[0]) throw new RegistryError('NOT_FOUND', `project ${projectSlug} does not exist in ${workspace.slug}`, { field: 'slug' });
    return { ...rows[0], workspaceSlug: workspace.slug };
  }

  async rename(workspaceSlug: string, projectSlug: string, name: string, origin: ChangeOrigin): Promise<ProjectRecord> {
    const project = await this.get(workspaceSlug, projectSlug);
    const newName = displayName('name', name, project.name);
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ name: string }>('SELECT name FROM projects WHERE id = $1 FOR UPDATE', [project.id]);
      if (!rows[0] || rows[0].name === newName) return;
      await client.query('UPDATE projects SET name = $2 WHERE id = $1', [project.id, newName]);
      await recordAudit(client, origin, { action: 'project.renamed', workspace: project.workspaceSlug, target: { type: 'project', id: project.id, name: `${project.workspaceSlug}/${project.slug}` }, before: { name: rows[0].name }, after: { name: newName } });
    });
    return { ...project, name: newName };
  }

  /** Projects; with `onlyRepositoryIds`, only those holding one of these source repositories. */
  async list(workspaceSlug: string, size: number, token: string, onlyRepositoryIds?: string[]): Promise<Page<ProjectRecord>> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const limit = pageSize(size);
    const { rows } = await this.pool.query<{ id: string; slug: string; name: string }>(
      `SELECT id, slug, name FROM projects p WHERE workspace_id = $1 AND slug > $2
         AND ($4::uuid[] IS NULL OR EXISTS (SELECT 1 FROM source_repositories r WHERE r.project_id = p.id AND r.id = ANY($4::uuid[])))
       ORDER BY slug LIMIT $3`,
      [workspace.id, decodePageToken(token), limit + 1, onlyRepositoryIds ?? null],
    );
    return page(rows.map((row) => ({ ...row, workspaceSlug: workspace.slug })), limit, (p) => p.slug);
  }

  /** Deletes a project without repositories. */
  async delete(workspaceSlug: string, projectSlug: string, origin: ChangeOrigin): Promise<void> {
    const workspace = await workspaceBySlug(this.pool, workspaceSlug);
    const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM projects WHERE workspace_id = $1 AND slug = $2', [workspace.id, slug('slug', projectSlug)]);
    if (!rows[0]) throw new RegistryError('NOT_FOUND', `project ${projectSlug} does not exist in ${workspace.slug}`, { field: 'slug' });
    await refuseIfAny(this.pool, 'SELECT 1 FROM source_repositories WHERE project_id = $1 LIMIT 1', [rows[0].id], `project ${projectSlug} still has repositories; delete them first`);
    const project = rows[0];
    await inTransaction(this.pool, async (client) => {
      const deleted = await client.query('DELETE FROM projects WHERE id = $1', [project.id]);
      if (deleted.rowCount) await recordAudit(client, origin, { action: 'project.deleted', workspace: workspace.slug, target: { type: 'project', id: project.id, name: `${workspace.slug}/${projectSlug}` } });
    });
  }

  private async projectById(id: string): Promise<ProjectRecord> {
    const { rows } = await this.pool.query<{ id: string; slug: string; name: string; workspace_slug: string }>(
      'SELECT p.id, p.slug, p.name, w.slug AS workspace_slug FROM projects p JOIN workspaces w ON w.id = p.workspace_id WHERE p.id = $1',
      [id],
    );
    const row = rows[0]!;
    return { id: row.id, slug: row.slug, name: row.name, workspaceSlug: row.workspace_slug };
  }
}
