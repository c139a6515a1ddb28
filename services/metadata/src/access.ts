import type { Pool } from 'pg';
import { parseRepositoryName } from '@ocireg/oci';
import type { Queryable } from './lookups';
import { effectiveRole, roleAllows, type Role } from './roles';
import { visibilityOf, type Visibility } from './visibility';
import { slug, userId, uuid } from './validation';

/** An empty actor is the operator (trusted caller) until the admin API is authenticated (auth issue). */
export const OPERATOR = '';

/** A user's role on the package behind an OCI name (see Access.roleOn). */
export interface RoleOnPackage {
  role: Role | undefined;
  packageExists: boolean;
  publicPull: boolean;
}

/**
 * A user's role on a source repository: their membership's, or Admin as an
 * admin of its workspace. `db` may be the transaction of a push.
 */
export async function roleOnSourceRepository(db: Queryable, user: string, sourceRepositoryId: string, workspaceId: string): Promise<Role | undefined> {
  const { rows } = await db.query<{ role: Role | null; workspace_admin: boolean }>(
    `SELECT (SELECT role FROM repository_members WHERE repository_id = $1 AND user_id = $2) AS role,
            EXISTS (SELECT 1 FROM workspace_admins WHERE workspace_id = $3 AND user_id = $2) AS workspace_admin`,
    [sourceRepositoryId, user, workspaceId],
  );
  return effectiveRole({ repositoryRole: rows[0]?.role ?? undefined, workspaceAdmin: rows[0]?.workspace_admin ?? false });
}

/**
 * Who may do what, read fresh from the tables so that changes apply at once:
 * roles on packages, workspaces and source repositories, and what of a
 * workspace a user may see. Inputs are validated before any SQL.
 */
export class Access {
  constructor(private readonly pool: Pool) {}

  /**
   * The user's role on the package behind an OCI repository name, read fresh so
   * changes apply at once. For a name without a package yet, the role the
   * package would get if the user pushed it now: the default repository's when
   * the workspace creates packages on push and that role may push (a member of
   * another repository may not create packages in the default one), Admin for
   * workspace admins, and otherwise none. A package the user has no role on and a name without one
   * then grant the same (nothing), so registry tokens and /v2 answers never
   * tell a hidden package from a missing one (docs/security.md).
   * `packageExists` is the truth, for callers who may see every package.
   */
  async roleOn(user: string, repository: string): Promise<RoleOnPackage> {
    const name = parseRepositoryName(repository);
    userId('user_id', user);
    const { rows } = await this.pool.query<{
      public_pull: boolean;
      package_id: string | null;
      repository_role: Role | null;
      grant_role: Role | null;
      workspace_admin: boolean;
      creates_on_push: boolean;
      default_role: Role | null;
      upstream_role: Role | null;
    }>(
      `SELECT w.public_pull, p.id AS package_id, (w.create_packages_on_push AND w.default_repository_id IS NOT NULL) AS creates_on_push,
              (SELECT role FROM repository_members m WHERE m.repository_id = p.repository_id AND m.user_id = $3) AS repository_role,
              (SELECT role FROM package_grants g WHERE g.package_id = p.id AND g.user_id = $3) AS grant_role,
              EXISTS (SELECT 1 FROM workspace_admins a WHERE a.workspace_id = w.id AND a.user_id = $3) AS workspace_admin,
              (SELECT role FROM repository_members m WHERE w.create_packages_on_push AND m.repository_id = w.default_repository_id AND m.user_id = $3) AS default_role,
              (SELECT m.role FROM upstreams u JOIN repository_members m ON m.repository_id = u.repository_id AND m.user_id = $3
               WHERE p.id IS NULL AND u.workspace_id = w.id AND u.name = split_part($2, '/', 1) AND strpos($2, '/') > 0) AS upstream_role
       FROM workspaces w LEFT JOIN packages p ON p.workspace_id = w.id AND p.name = $2
       WHERE w.slug = $1`,
      [name.workspace, name.image, user],
    );
    const row = rows[0];
    if (!row) return { role: undefined, packageExists: false, publicPull: false };
    if (row.package_id) {
      const role = effectiveRole({ repositoryRole: row.repository_role ?? undefined, packageGrant: row.grant_role ?? undefined, workspaceAdmin: row.workspace_admin });
      return { role, packageExists: true, publicPull: row.public_pull };
    }
    // A name an upstream serves: the role its cached package will inherit (Read pulls it through, docs/pull-through.md).
    // Otherwise only someone who may create the package gets a role on its name (Read on the default repository creates nothing).
    const wouldInherit = row.upstream_role
      ? row.upstream_role
      : row.creates_on_push && roleAllows(row.default_role ?? undefined, 'push')
        ? (row.default_role ?? undefined)
        : undefined;
    return { role: effectiveRole({ repositoryRole: wouldInherit, workspaceAdmin: row.workspace_admin }), packageExists: false, publicPull: row.public_pull };
  }

  /**
   * The role of a credential that belongs to a source repository (a
   * repository token, a CI job) on the package behind a name: Write when the
   * package is linked to `sourceRepositoryId`, Read when linked to one of
   * `pullSourceRepositoryIds`, none otherwise. No membership, grant or
   * workspace role counts, and a name without a package grants nothing (such
   * a credential creates no package on push).
   */
  async roleOfSourceRepositoryCredential(repository: string, sourceRepositoryId: string, pullSourceRepositoryIds: readonly string[]): Promise<RoleOnPackage> {
    const name = parseRepositoryName(repository);
    uuid('source_repository_id', sourceRepositoryId);
    for (const id of pullSourceRepositoryIds) uuid('pull_source_repository_ids', id);
    const { rows } = await this.pool.query<{ public_pull: boolean; repository_id: string | null }>(
      'SELECT w.public_pull, p.repository_id FROM workspaces w LEFT JOIN packages p ON p.workspace_id = w.id AND p.name = $2 WHERE w.slug = $1',
      [name.workspace, name.image],
    );
    const row = rows[0];
    if (!row) return { role: undefined, packageExists: false, publicPull: false };
    const linked = row.repository_id;
    const role: Role | undefined = linked === sourceRepositoryId ? 'write' : linked && pullSourceRepositoryIds.includes(linked) ? 'read' : undefined;
    return { role, packageExists: linked !== null, publicPull: row.public_pull };
  }

  /** A user's own role on a source repository (membership, or Admin as a workspace admin), and its workspace. */
  async sourceRepositoryRole(user: string, sourceRepositoryId: string): Promise<{ exists: boolean; role: Role | undefined; workspaceSlug: string }> {
    const { rows } = await this.pool.query<{ workspace_id: string; slug: string }>(
      'SELECT r.workspace_id, w.slug FROM source_repositories r JOIN workspaces w ON w.id = r.workspace_id WHERE r.id = $1',
      [uuid('source_repository_id', sourceRepositoryId)],
    );
    const row = rows[0];
    if (!row) return { exists: false, role: undefined, workspaceSlug: '' };
    return { exists: true, role: await roleOnSourceRepository(this.pool, userId('user_id', user), sourceRepositoryId, row.workspace_id), workspaceSlug: row.slug };
  }

  /** Source repositories of a workspace by "<project>/<repository>", in the order asked ("" for none). */
  async sourceRepositoryIdsByPath(workspaceSlug: string, paths: readonly string[]): Promise<string[]> {
    slug('workspace_slug', workspaceSlug);
    const wanted = paths.slice(0, 100).map((path) => {
      const [project = '', repository = '', ...rest] = path.split('/');
      return rest.length === 0 && /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(project) && /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(repository) ? `${project}/${repository}` : '';
    });
    const { rows } = await this.pool.query<{ path: string; id: string }>(
      `SELECT p.slug || '/' || r.slug AS path, r.id FROM source_repositories r JOIN projects p ON p.id = r.project_id JOIN workspaces w ON w.id = r.workspace_id
       WHERE w.slug = $1 AND p.slug || '/' || r.slug = ANY($2::text[])`,
      [workspaceSlug, wanted.filter(Boolean)],
    );
    const ids = new Map(rows.map((row) => [row.path, row.id]));
    return wanted.map((path) => (path ? (ids.get(path) ?? '') : ''));
  }

  /** Whether a user administers a workspace (workspace admin). */
  async isWorkspaceAdmin(user: string, workspaceSlug: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'SELECT 1 FROM workspace_admins a JOIN workspaces w ON w.id = a.workspace_id WHERE w.slug = $1 AND a.user_id = $2',
      [slug('workspace_slug', workspaceSlug), userId('user_id', user)],
    );
    return (rowCount ?? 0) > 0;
  }

  /** The workspaces where a user holds any role: workspace admin, repository member or package grant (sorted slugs). */
  async workspacesOf(user: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ slug: string }>(
      `SELECT w.slug FROM workspaces w
       WHERE EXISTS (SELECT 1 FROM workspace_admins a WHERE a.workspace_id = w.id AND a.user_id = $1)
          OR EXISTS (SELECT 1 FROM repository_members m JOIN source_repositories r ON r.id = m.repository_id WHERE r.workspace_id = w.id AND m.user_id = $1)
          OR EXISTS (SELECT 1 FROM package_grants g JOIN packages p ON p.id = g.package_id WHERE p.workspace_id = w.id AND g.user_id = $1)
       ORDER BY w.slug COLLATE "C"`,
      [userId('user_id', user)],
    );
    return rows.map((row) => row.slug);
  }

  /** Whether a user is Admin of a source repository, directly or as admin of its workspace. */
  async isSourceRepositoryAdmin(user: string, sourceRepositoryId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM source_repositories r
       WHERE r.id = $1 AND (EXISTS (SELECT 1 FROM repository_members m WHERE m.repository_id = r.id AND m.user_id = $2 AND m.role = 'admin')
                         OR EXISTS (SELECT 1 FROM workspace_admins a WHERE a.workspace_id = r.workspace_id AND a.user_id = $2))`,
      [uuid('source_repository_id', sourceRepositoryId), userId('user_id', user)],
    );
    return (rowCount ?? 0) > 0;
  }

  /** A user's own role on each of some source repositories (workspace admins: Admin everywhere in their workspace). */
  async sourceRepositoryRoles(user: string, sourceRepositoryIds: string[]): Promise<Map<string, Role>> {
    if (sourceRepositoryIds.length === 0) return new Map();
    const { rows } = await this.pool.query<{ id: string; role: Role | null; workspace_admin: boolean }>(
      `SELECT r.id, (SELECT role FROM repository_members m WHERE m.repository_id = r.id AND m.user_id = $2) AS role,
              EXISTS (SELECT 1 FROM workspace_admins a WHERE a.workspace_id = r.workspace_id AND a.user_id = $2) AS workspace_admin
       FROM source_repositories r WHERE r.id = ANY($1::uuid[])`,
      [sourceRepositoryIds, userId('user_id', user)],
    );
    const roles = new Map<string, Role>();
    for (const row of rows) {
      const role = effectiveRole({ repositoryRole: row.role ?? undefined, workspaceAdmin: row.workspace_admin });
      if (role) roles.set(row.id, role);
    }
    return roles;
  }

  /** What of a workspace a user may see (see visibility.ts). */
  visibility(user: string, workspaceSlug: string, operator = false): Promise<Visibility> {
    return visibilityOf(this.pool, user, workspaceSlug, operator);
  }
}
