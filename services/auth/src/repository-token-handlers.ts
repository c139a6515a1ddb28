import type { AccessStateWriter } from '@ocireg/access-state';
import type { AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { users } from '@ocireg/proto';
import type { UserAssertion } from '@ocireg/service-identity';
import { originOfCall } from './change-origin';
import type { CredentialEvents } from './credential-events';
import type { PackageRole } from './scopes';
import type { TokenRecord, TokenStore } from './token-store';

/** A user's own role on a source repository, asked of metadata. */
export type SourceRepositoryRoleLookup = (userId: string, sourceRepositoryId: string) => Promise<{ exists: boolean; role: PackageRole | undefined; workspaceSlug: string }>;

type Handlers = Pick<AsyncService<users.UserServiceServer>, 'createRepositoryToken' | 'listRepositoryTokens'>;

/**
 * Repository tokens: a source repository's Admins (its workspace's admins,
 * operators) make, list and revoke them; they belong to the repository, so
 * they keep working when whoever made them loses their role. A repository a
 * caller has no role on answers as one that does not exist.
 */
export class RepositoryTokens {
  constructor(
    private readonly deps: {
      store: TokenStore;
      roleOn: SourceRepositoryRoleLookup;
      revocations: Pick<AccessStateWriter, 'revokeToken'>;
      events: CredentialEvents;
    },
  ) {}

  /** Throws NOT_FOUND or DENIED unless the caller administers the source repository. */
  async requireAdmin(caller: UserAssertion, sourceRepositoryId: string): Promise<void> {
    if (caller.operator) return;
    const found = await this.deps.roleOn(caller.userId, sourceRepositoryId);
    if (!found.exists || !found.role) throw new RegistryError('NOT_FOUND', `repository ${sourceRepositoryId.slice(0, 64)} does not exist`, { field: 'source_repository_id' });
    if (found.role !== 'admin') throw new RegistryError('DENIED', 'only Admins of the repository manage its tokens');
  }

  handlers(callerOf: (ctx: CallContext) => UserAssertion): Handlers {
    const { store, events } = this.deps;
    return {
      createRepositoryToken: async (request, ctx) => {
        const caller = callerOf(ctx);
        if (!caller.tokenId && !caller.sessionId) throw new RegistryError('UNAUTHORIZED', 'no credential behind this call');
        await this.requireAdmin(caller, request.sourceRepositoryId);
        // Made with an API token: bounded by it, and revoked with it. From a session: bounded by the role alone.
        const created = await store.createToken({ sourceRepositoryId: request.sourceRepositoryId }, request.name, request.expiresInSeconds, request.scopes, originOfCall(ctx, caller), caller.tokenId ? { tokenId: caller.tokenId } : undefined, caller.userId);
        const { token } = created;
        events.record({ kind: 'repository-token.created', actor: caller.userId, tokenId: token.id, sourceRepositoryId: token.sourceRepositoryId, scopes: token.scopes, expiresAt: token.expiresAt, parentTokenId: token.parentTokenId }, ctx.requestId);
        return { token: tokenInfo(token), secret: created.secret };
      },
      listRepositoryTokens: async (request, ctx) => {
        const caller = callerOf(ctx);
        await this.requireAdmin(caller, request.sourceRepositoryId);
        return { tokens: (await store.listRepositoryTokens(request.sourceRepositoryId)).map(tokenInfo) };
      },
    };
  }

  /** RevokeToken of a repository token (UserService.revokeToken hands those here). */
  async revoke(caller: UserAssertion, token: TokenRecord, requestId: string, origin: AuditOrigin): Promise<TokenRecord[]> {
    await this.requireAdmin(caller, token.sourceRepositoryId).catch((err: unknown) => {
      // Someone who may not manage the repository's tokens learns nothing of this one.
      if (err instanceof RegistryError && (err.code === 'NOT_FOUND' || err.code === 'DENIED')) throw new RegistryError('NOT_FOUND', `token ${token.id} does not exist`, { field: 'token_id' });
      throw err;
    });
    const revoked = await this.deps.store.revokeToken(token.id, origin);
    for (const each of revoked) await this.deps.revocations.revokeToken(each.id, new Date(each.expiresAt));
    this.deps.events.record({ kind: 'repository-token.revoked', actor: caller.userId, sourceRepositoryId: token.sourceRepositoryId, tokenIds: revoked.map((t) => t.id) }, requestId);
    return revoked;
  }
}

export function tokenInfo(token: TokenRecord): users.TokenInfo {
  return {
    id: token.id,
    userId: token.userId,
    name: token.name,
    scopes: token.scopes,
    expiresAt: token.expiresAt,
    createdAt: token.createdAt,
    revokedAt: token.revokedAt,
    parentTokenId: token.parentTokenId,
    sourceRepositoryId: token.sourceRepositoryId,
    createdBy: token.createdBy,
  };
}
