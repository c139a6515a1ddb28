/** Roles on a package, weakest first. */
export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type PackageAction = 'pull' | 'push' | 'delete-tag' | 'delete-manifest' | 'create-package' | 'link-package';

const ACTIONS_BY_ROLE: Record<Role, readonly PackageAction[]> = {
  read: ['pull'],
  write: ['pull', 'push', 'delete-tag'],
  admin: ['pull', 'push', 'delete-tag', 'delete-manifest', 'create-package', 'link-package'],
};

export interface RoleSources {
  /** The user's role on the repository the package is linked to. */
  repositoryRole?: Role;
  /** An explicit grant on the package itself. */
  packageGrant?: Role;
  /** Workspace admins are Admin everywhere in their workspace. */
  workspaceAdmin: boolean;
}

/** The one place that decides a user's role on a package: the strongest of what applies. */
export function effectiveRole(sources: RoleSources): Role | undefined {
  if (sources.workspaceAdmin) return 'admin';
  return strongestRole([sources.repositoryRole, sources.packageGrant]);
}

/** The strongest of some roles (undefined entries ignored), or undefined for none. */
export function strongestRole(roles: ReadonlyArray<Role | undefined>): Role | undefined {
  return roles.reduce<Role | undefined>((strongest, role) => (role !== undefined && (strongest === undefined || ROLES.indexOf(role) > ROLES.indexOf(strongest)) ? role : strongest), undefined);
}

export function roleAllows(role: Role | undefined, action: PackageAction): boolean {
  return role !== undefined && ACTIONS_BY_ROLE[role].includes(action);
}
