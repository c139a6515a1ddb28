import { randomUUID } from 'node:crypto';
import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName } from '@ocireg/oci';
import type { CredentialChecker } from './credentials';
import { grantedActions, parseScope, type PackageRole } from './scopes';
import type { SigningKeys } from './signing';
import type { TokenRecord, TokenStore, UserRecord } from './token-store';

/**
 * Whose role a registry token carries: a user's ("" = anonymous), or a
 * credential of a source repository (a repository token, a CI job), whose
 * role is Write on the packages linked to it, Read on those linked to
 * `pullSourceRepositoryIds`, and nothing else.
 */
export type RoleSubject = { userId: string } | { sourceRepositoryId: string; pullSourceRepositoryIds: string[] };

export interface RoleLookup {
  /** The subject's role on the package behind `repository`, and whether the workspace allows public pull (asked of metadata). */
  roleOf(subject: RoleSubject, repository: string): Promise<{ role: PackageRole | undefined; publicPull: boolean }>;
}

/** The registry tokens' `sub` for a repository token: it names the token, since no person stands behind it. */
export const repositoryTokenSubject = (tokenId: string) => `repository-token.${tokenId}`;

export interface IssueRequest {
  username: string;
  password: string;
  refreshToken: string;
  scopes: string[];
  offline: boolean;
  clientIp: string;
}

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

interface Identity {
  /** What the registry token's `sub` says (a user id, or the credential it stands for). */
  sub: string;
  subject: RoleSubject;
  tokenId: string;
  tokenScopes: string[];
  tokenExpiresAt: string;
  /** A service account acts in its own workspace only: nothing is granted elsewhere, whatever roles say. */
  confinedTo?: string;
}

/** Who a token (a user's, or a repository's) makes its holder. */
function identityOf(token: TokenRecord, user?: UserRecord): Identity {
  const subject: RoleSubject = token.sourceRepositoryId ? { sourceRepositoryId: token.sourceRepositoryId, pullSourceRepositoryIds: [] } : { userId: token.userId };
  const confinedTo = user?.serviceAccountWorkspace || undefined;
  return { sub: token.sourceRepositoryId ? repositoryTokenSubject(token.id) : token.userId, subject, tokenId: token.id, tokenScopes: token.scopes, tokenExpiresAt: token.expiresAt, confinedTo };
}

/** The docker token service: checks who is asking and signs what they may do. */
export class RegistryTokenIssuer {
  constructor(
    private readonly deps: { store: TokenStore; keys: SigningKeys; roles: RoleLookup; credentials: CredentialChecker; tokenSeconds: number },
  ) {}

  async issue(request: IssueRequest): Promise<{ token: string; expiresIn: number; issuedAt: string; refreshToken: string }> {
    const identity = await this.identify(request);
    // Taken before reading roles: a role change after this instant makes the token stale (see the gateway).
    const decidedAtMs = Date.now();
    const access: AccessEntry[] = [];
    for (const raw of request.scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
      const scope = parseScope(raw);
      if (!scope) continue; // a malformed scope is simply not granted
      if (scope.type === 'repository') {
        try {
          parseRepositoryName(scope.name);
        } catch {
          continue;
        }
        if (identity?.confinedTo && scope.name.split('/')[0] !== identity.confinedTo) {
          access.push({ type: 'repository', name: scope.name, actions: [] });
          continue;
        }
        const { role, publicPull } = await this.deps.roles.roleOf(identity?.subject ?? { userId: '' }, scope.name);
        const actions = identity ? grantedActions(scope.actions, identity.tokenScopes, role, publicPull) : grantedActions(scope.actions, ['read:package'], undefined, publicPull);
        access.push({ type: 'repository', name: scope.name, actions });
      } else if (scope.type === 'registry' && scope.name === 'catalog' && identity) {
        access.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      }
    }
    const issuedAt = new Date();
    // A registry token never outlives the API token behind it.
    const apiTokenSecondsLeft = identity ? Math.floor((Date.parse(identity.tokenExpiresAt) - Date.now()) / 1000) : Infinity;
    const expiresIn = Math.max(1, Math.min(this.deps.tokenSeconds, apiTokenSecondsLeft));
    const token = this.deps.keys.sign({ sub: identity?.sub ?? '', tid: identity?.tokenId ?? '', aud: 'ocireg', jti: randomUUID(), iatMs: decidedAtMs, access }, expiresIn);
    let refreshToken = '';
    if (request.offline && identity) {
      const secondsLeft = Math.max(60, Math.floor((Date.parse(identity.tokenExpiresAt) - Date.now()) / 1000));
      refreshToken = this.deps.keys.sign({ typ: 'refresh', sub: identity.sub, tid: identity.tokenId, aud: 'ocireg-refresh' }, secondsLeft);
    }
    return { token, expiresIn, issuedAt: issuedAt.toISOString(), refreshToken };
  }

  /** Undefined means anonymous. Bad credentials are UNAUTHORIZED, and count toward the login limit. */
  private async identify(request: IssueRequest): Promise<Identity | undefined> {
    if (request.refreshToken) {
      let claims;
      try {
        claims = this.deps.keys.verify(request.refreshToken);
      } catch {
        throw new RegistryError('UNAUTHORIZED', 'invalid refresh token');
      }
      const token = claims.typ === 'refresh' && typeof claims.tid === 'string' ? await this.deps.store.isActive(claims.tid) : undefined;
      if (!token) throw new RegistryError('UNAUTHORIZED', 'refresh token no longer valid (its API token expired or was revoked)');
      const [user] = token.userId ? await this.deps.store.lookupUsers([token.userId]) : [];
      if (token.userId && !user) throw new RegistryError('UNAUTHORIZED', 'refresh token no longer valid (its account was deleted)');
      return identityOf(token, user);
    }
    if (!request.username && !request.password) return undefined;
    const login = await this.deps.credentials.registryLogin(request.password, request.clientIp, request.username);
    return identityOf(login.token, login.kind === 'user' ? login.user : undefined);
  }
}
