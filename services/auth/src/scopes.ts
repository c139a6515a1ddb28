/**
 * Scopes an API token may carry: three for packages, and admin:token to
 * create API tokens with it (never stronger or longer-lived than itself).
 */
export const TOKEN_SCOPES = ['read:package', 'write:package', 'admin:package', 'admin:token'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** Actions in registry tokens. `delete` deletes tags; `delete-manifest` deletes images and blobs (Admin). */
export type RegistryAction = 'pull' | 'push' | 'delete' | 'delete-manifest';
export type PackageRole = 'read' | 'write' | 'admin';

/**
 * What each scope allows through the registry API. Deleting needs the write
 * scope, tags and images alike; which of them the role decides (Write: tags,
 * Admin: images and manifests). admin:package adds the admin API.
 */
const BY_TOKEN_SCOPE: Record<TokenScope, RegistryAction[]> = {
  'read:package': ['pull'],
  'write:package': ['pull', 'push', 'delete', 'delete-manifest'],
  'admin:package': ['pull', 'push', 'delete', 'delete-manifest'],
  'admin:token': [],
};

const BY_ROLE: Record<PackageRole, RegistryAction[]> = {
  read: ['pull'],
  write: ['pull', 'push', 'delete'],
  admin: ['pull', 'push', 'delete', 'delete-manifest'],
};

export interface ResourceScope {
  type: string;
  name: string;
  actions: string[];
}

/** Parses docker's "repository:<name>:<actions>" (the name may contain ":" only before a port, which we do not allow). */
export function parseScope(scope: string): ResourceScope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = scope.slice(last + 1).split(',').map((a) => a.trim()).filter(Boolean);
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

/**
 * What a request gets: the intersection of what it asked for, what the API
 * token's scopes allow, and what the user's role on the package allows.
 * Asking for "delete" (docker's word for both) yields every delete the caller may do.
 */
export function grantedActions(requested: string[], tokenScopes: readonly string[], role: PackageRole | undefined, publicPull = false): RegistryAction[] {
  const byToken = new Set(tokenScopes.flatMap((scope) => BY_TOKEN_SCOPE[scope as TokenScope] ?? []));
  const byRole = new Set<RegistryAction>(role ? BY_ROLE[role] : publicPull ? ['pull'] : []);
  const wanted = new Set<RegistryAction>();
  for (const action of requested) {
    if (action === '*') BY_ROLE.admin.forEach((a) => wanted.add(a));
    else if (action === 'delete') ['delete', 'delete-manifest'].forEach((a) => wanted.add(a as RegistryAction));
    else if (action === 'pull' || action === 'push' || action === 'delete-manifest') wanted.add(action);
  }
  return BY_ROLE.admin.filter((action) => wanted.has(action) && byToken.has(action) && byRole.has(action));
}

/** Anonymous callers get pull on public workspaces and nothing else. */
export function anonymousActions(requested: string[], publicPull: boolean): RegistryAction[] {
  return publicPull && requested.some((a) => a === 'pull' || a === '*') ? ['pull'] : [];
}
