import type { Pool } from 'pg';
import { checkMarker } from './paging';

/** The OCI catalog: the repository names a viewer may see, a page at a time. */
export class Catalog {
  constructor(private readonly pool: Pool) {}

  /**
   * Repository names (those holding a manifest) in lexical order that a viewer
   * may see: whose package they have a role on (linked repository, grant,
   * workspace admin) or whose workspace is public. "" viewer: anonymous.
   */
  async list(limit: number, after: string, viewer: string): Promise<{ repositories: string[]; hasMore: boolean }> {
    checkMarker(after);
    const { rows } = await this.pool.query<{ repository: string }>(
      `SELECT m.repository FROM manifests m
       JOIN workspaces w ON w.slug = split_part(m.repository, '/', 1)
       JOIN packages p ON p.workspace_id = w.id AND p.name = substr(m.repository, length(w.slug) + 2)
       WHERE m.repository COLLATE "C" > $1
         AND (w.public_pull OR ($3 <> '' AND (
               EXISTS (SELECT 1 FROM workspace_admins a WHERE a.workspace_id = w.id AND a.user_id = $3)
            OR EXISTS (SELECT 1 FROM repository_members rm WHERE rm.repository_id = p.repository_id AND rm.user_id = $3)
            OR EXISTS (SELECT 1 FROM package_grants g WHERE g.package_id = p.id AND g.user_id = $3))))
       GROUP BY m.repository ORDER BY m.repository COLLATE "C" LIMIT $2`,
      [after, limit + 1, viewer],
    );
    return { repositories: rows.slice(0, limit).map((row) => row.repository), hasMore: rows.length > limit };
  }
}
