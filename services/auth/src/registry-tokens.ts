import { randomUUID } from 'node:crypto';
import type { AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName } from '@ocireg/oci';
import type { CredentialChecker } from './credentials';
import { grantedActions, parseScope, type PackageRole } from './scopes';
import type { SigningKeys } from './signing';
import type { TokenStore } from './token-store';

export interface RoleLookup {
  /** The user's role on the package behind `repository` ("" user = anonymous), and whether the workspace allows public pull. */
  roleOf(userId: string, repository: string): Promise<{ role: PackageRole | undefined; publicPull: boolean }>;
}

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
  userId: string;
  tokenId: string;
  tokenScopes: string[];
  tokenExpiresAt: string;
}

/** The docker token service: checks who is asking and signs what they may do. */
export class RegistryTokenIssuer {
  constructor(
    private readonly deps: { store: TokenStore; keys: SigningKeys; roles: RoleLookup; credentials: CredentialChecker; tokenSeconds: number },
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
        const { role, publicPull } = await this.deps.roles.roleOf(identity?.userId ?? '', scope.name);
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
    const token = this.deps.keys.sign({ sub: identity?.userId ?? '', tid: identity?.tokenId ?? '', aud: 'ocireg', jti: randomUUID(), iatMs: decidedAtMs, access }, expiresIn);
    let refreshToken = '';
    if (request.offline && identity) {
      const secondsLeft = Math.max(60, Math.floor((Date.parse(identity.tokenExpiresAt) - Date.now()) / 1000));
      refreshToken = this.deps.keys.sign({ typ: 'refresh', sub: identity.userId, tid: identity.tokenId, aud: 'ocireg-refresh' }, secondsLeft);
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
      const token = claims.typ === 'refresh' && typeof claims.tid === 'string' ? await this.deps.store.isActive(claims.tid) : undefined;
      if (!token) throw new RegistryError('UNAUTHORIZED', 'refresh token no longer valid (its API token expired or was revoked)');
      return { userId: token.userId, tokenId: token.id, tokenScopes: token.scopes, tokenExpiresAt: token.expiresAt };
    }
    if (!request.username && !request.password) return undefined;
    const verified = await this.deps.credentials.apiToken(request.password, request.clientIp, origin, request.username);
    return { userId: verified.user.id, tokenId: verified.token.id, tokenScopes: verified.token.scopes, tokenExpiresAt: verified.token.expiresAt };
  }
}
