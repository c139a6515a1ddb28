import type { Pool } from 'pg';
import { slug, userId } from './validation';

/**
 * What of a workspace a user may see in listings. Visibility follows access:
 * a package the user has no role on answers as if it did not exist.
 */
export interface Visibility {
  /** False: the workspace does not exist, or nothing in it is visible to the user. */
  visible: boolean;
  /** Operators, workspace admins and public workspaces: everything. */
  allPackages: boolean;
  /** Source repositories the user is a member of (their packages are visible). */
  memberRepositoryIds: string[];
  /** Packages granted to the user explicitly, by name inside the workspace, with the repository each links to. */
  grantedPackages: Array<{ name: string; sourceRepositoryId: string }>;
}

const NOTHING: Visibility = { visible: false, allPackages: false, memberRepositoryIds: [], grantedPackages: [] };

/** A user's visibility in one workspace ("" user: anonymous, who sees public workspaces only). */
export async function visibilityOf(pool: Pool, user: string, workspaceSlug: string, operator = false): Promise<Visibility> {
  if (user) userId('user_id', user);
  try {
    slug('workspace', workspaceSlug);
  } catch {
    return NOTHING;
  }
  const { rows } = await pool.query<{ public_pull: boolean; workspace_admin: boolean; member_of: string[]; granted: Array<{ name: string; sourceRepositoryId: string }> }>(
    `SELECT w.public_pull,
            EXISTS (SELECT 1 FROM workspace_admins a WHERE a.workspace_id = w.id AND a.user_id = $2) AS workspace_admin,
            ARRAY(SELECT m.repository_id::text FROM repository_members m JOIN source_repositories r ON r.id = m.repository_id
                  WHERE r.workspace_id = w.id AND m.user_id = $2 ORDER BY 1) AS member_of,
            COALESCE((SELECT json_agg(json_build_object('name', p.name, 'sourceRepositoryId', p.repository_id) ORDER BY p.name)
                      FROM package_grants g JOIN packages p ON p.id = g.package_id WHERE p.workspace_id = w.id AND g.user_id = $2), '[]'::json) AS granted
     FROM workspaces w WHERE w.slug = $1`,
    [workspaceSlug, user],
  );
  const row = rows[0];
  if (!row) return NOTHING;
  const allPackages = operator || row.public_pull || (user !== '' && row.workspace_admin);
  const memberRepositoryIds = user ? row.member_of : [];
  const grantedPackages = user ? row.granted : [];
  return { visible: allPackages || memberRepositoryIds.length > 0 || grantedPackages.length > 0, allPackages, memberRepositoryIds, grantedPackages };
}

export function canSeePackage(visibility: Visibility, pkg: { name: string; sourceRepositoryId: string }): boolean {
  return visibility.allPackages || visibility.memberRepositoryIds.includes(pkg.sourceRepositoryId) || visibility.grantedPackages.some((g) => g.name === pkg.name);
}

/** Source repositories the user may see (members, and those their granted packages link to); undefined means all. */
export function visibleRepositoryIds(visibility: Visibility): string[] | undefined {
  if (visibility.allPackages) return undefined;
  return [...new Set([...visibility.memberRepositoryIds, ...visibility.grantedPackages.map((g) => g.sourceRepositoryId)])];
}

/** A filter for package listings; undefined means all. */
export function packageFilter(visibility: Visibility): { sourceRepositoryIds: string[]; names: string[] } | undefined {
  if (visibility.allPackages) return undefined;
  return { sourceRepositoryIds: visibility.memberRepositoryIds, names: visibility.grantedPackages.map((g) => g.name) };
}
