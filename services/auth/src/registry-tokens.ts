import { randomUUID } from 'node:crypto';
import type { AuditOrigin, Summary } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName } from '@ocireg/oci';
import type { CredentialEvents } from './credential-events';
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
  /** A CI job: pull and push at most (no deletions), and the trusted issuer whose registration must still exist. */
  ci?: { trustedIssuerId: string; sourceRepositoryId: string; pullSourceRepositoryIds: string[]; workspace: string };
}

/** What a CI job may do at most, whatever its role: pull and push. */
const CI_ACTIONS = ['pull', 'push'];
const CI_SCOPES = ['read:package', 'write:package'];

/** The identity of a CI login (or of the refresh token it got). */
function ciIdentity(sub: string, ci: NonNullable<Identity['ci']>, expiresAt: string): Identity {
  return { sub, subject: { sourceRepositoryId: ci.sourceRepositoryId, pullSourceRepositoryIds: ci.pullSourceRepositoryIds }, tokenId: '', tokenScopes: CI_SCOPES, tokenExpiresAt: expiresAt, confinedTo: ci.workspace, ci };
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
    private readonly deps: {
      store: TokenStore;
      keys: SigningKeys;
      roles: RoleLookup;
      credentials: CredentialChecker;
      tokenSeconds: number;
      events: CredentialEvents;
      /** Whether a CI login's trusted issuer is still registered (refresh tokens are checked against it). */
      stillTrusted(trustedIssuerId: string): Promise<boolean>;
    },
  ) {}

  async issue(request: IssueRequest, origin: AuditOrigin): Promise<{ token: string; expiresIn: number; issuedAt: string; refreshToken: string }> {
    const identity = await this.identify(request, origin);
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
        const granted = identity ? grantedActions(scope.actions, identity.tokenScopes, role, publicPull) : grantedActions(scope.actions, ['read:package'], undefined, publicPull);
        const actions = identity?.ci ? granted.filter((action) => CI_ACTIONS.includes(action)) : granted;
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
      // A CI login's refresh token ends with its grants; an API token's lasts as long as it does.
      const secondsLeft = Math.max(identity.ci ? 1 : 60, Math.floor((Date.parse(identity.tokenExpiresAt) - Date.now()) / 1000));
      refreshToken = this.deps.keys.sign({ typ: 'refresh', sub: identity.sub, tid: identity.tokenId, ...(identity.ci ? { ci: identity.ci } : {}), aud: 'ocireg-refresh' }, secondsLeft);
    }
    return { token, expiresIn, issuedAt: issuedAt.toISOString(), refreshToken };
  }

  /** Undefined means anonymous. Bad credentials are UNAUTHORIZED, and count toward the login limit. */
  private async identify(request: IssueRequest, origin: AuditOrigin): Promise<Identity | undefined> {
    if (request.refreshToken) {
      let claims;
      try {
        claims = this.deps.keys.verify(request.refreshToken);
      } catch {
        throw new RegistryError('UNAUTHORIZED', 'invalid refresh token');
      }
      if (claims.typ === 'refresh' && claims.ci && typeof claims.sub === 'string') {
        const ci = claims.ci as NonNullable<Identity['ci']>;
        if (!(await this.deps.stillTrusted(ci.trustedIssuerId))) throw new RegistryError('UNAUTHORIZED', 'refresh token no longer valid (its trusted issuer was removed)');
        return ciIdentity(claims.sub, ci, new Date(Number(claims.exp) * 1000).toISOString());
      }
      const token = claims.typ === 'refresh' && typeof claims.tid === 'string' ? await this.deps.store.isActive(claims.tid) : undefined;
      if (!token) throw new RegistryError('UNAUTHORIZED', 'refresh token no longer valid (its API token expired or was revoked)');
      const [user] = token.userId ? await this.deps.store.lookupUsers([token.userId]) : [];
      if (token.userId && !user) throw new RegistryError('UNAUTHORIZED', 'refresh token no longer valid (its account was deleted)');
      return identityOf(token, user);
    }
    if (!request.username && !request.password) return undefined;
    const login = await this.deps.credentials.registryLogin(request.password, request.clientIp, origin, request.username);
    if (login.kind === 'ci') {
      const { login: ci } = login;
      const event = { kind: 'ci.login', actor: ci.sub, workspace: ci.workspace, trustedIssuerId: ci.trustedIssuerId, sourceRepositoryId: ci.sourceRepositoryId, pullSourceRepositoryIds: ci.pullSourceRepositoryIds, expiresAt: ci.expiresAt, claims: ci.claims, clientIp: request.clientIp } as const;
      this.deps.events.record(event);
      // In the audit log with the claims that granted it (nothing else changes: a transaction of its own).
      await this.deps.events.audit(origin, { action: 'ci.login', workspace: ci.workspace, target: { type: 'source-repository', id: ci.sourceRepositoryId, name: ci.sub.slice(0, 200) }, after: { trustedIssuerId: ci.trustedIssuerId, pullSourceRepositoryIds: ci.pullSourceRepositoryIds, expiresAt: ci.expiresAt, claims: ci.claims as Summary } });
      return ciIdentity(ci.sub, { trustedIssuerId: ci.trustedIssuerId, sourceRepositoryId: ci.sourceRepositoryId, pullSourceRepositoryIds: ci.pullSourceRepositoryIds, workspace: ci.workspace }, ci.expiresAt);
    }
    return identityOf(login.token, login.kind === 'user' ? login.user : undefined);
  }
}
