import type { AccessStateWriter } from '@ocireg/access-state';
import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { users } from '@ocireg/proto';
import type { UserAssertion, UserAssertionVerifier } from '@ocireg/service-identity';
import type { TokenStore, UserRecord } from './token-store';

/**
 * UserService (users and API tokens), as the gateway forwards it from its
 * admin port: the caller is the user assertion the gateway attached.
 * Callers manage their own tokens, operators everyone's; a token creates
 * tokens only with admin:token and never beyond itself (TokenStore.createToken).
 */
export function userHandlers(deps: { store: TokenStore; verifier: UserAssertionVerifier; revocations: Pick<AccessStateWriter, 'revokeToken'> }): AsyncService<users.UserServiceServer> {
  const { store, verifier, revocations } = deps;

  const callerOf = (ctx: CallContext): UserAssertion => {
    const header = String(ctx.metadata.get('authorization')[0] ?? '');
    if (!header.startsWith('Bearer ')) throw new RegistryError('UNAUTHORIZED', 'this call needs the user assertion the gateway attaches');
    return verifier.verify(header.slice(7).trim());
  };
  /** The user named by id or email, when the caller may act on them (else NOT_FOUND, as if there were none). */
  const subject = async (caller: UserAssertion, idOrEmail: string): Promise<UserRecord> => {
    const [user] = await store.lookupUsers([idOrEmail]);
    if (!user || (!caller.operator && user.id !== caller.userId)) throw new RegistryError('NOT_FOUND', `user ${idOrEmail.slice(0, 200)} does not exist`, { field: 'user_id' });
    return user;
  };

  return {
    async createUser(request, ctx) {
      const caller = callerOf(ctx);
      if (!caller.operator || !caller.scopes.includes('admin:package')) throw new RegistryError('DENIED', 'only operators create users (with an admin:package token)');
      return { user: await store.createUser(request.email, request.displayName) };
    },
    async getUser(request, ctx) {
      return { user: await subject(callerOf(ctx), request.email) };
    },
    async createToken(request, ctx) {
      const caller = callerOf(ctx);
      const user = await subject(caller, request.userId);
      // Every token-made token is bounded by its creator; a UI session (no token) is bounded by the user's roles alone.
      if (!caller.tokenId && !caller.sessionId) throw new RegistryError('UNAUTHORIZED', 'no credential behind this call');
      const created = await store.createToken(user.id, request.name, request.expiresInSeconds, request.scopes, caller.tokenId ? { tokenId: caller.tokenId } : undefined);
      ctx.logger.info({ tokenId: created.token.id, userId: created.token.userId, scopes: created.token.scopes, parentTokenId: created.token.parentTokenId }, 'API token created');
      return created;
    },
    async listTokens(request, ctx) {
      const user = await subject(callerOf(ctx), request.userId);
      return { tokens: await store.listTokens(user.id) };
    },
    async revokeToken(request, ctx) {
      const caller = callerOf(ctx);
      const token = await store.token(request.tokenId);
      if (!token || (!caller.operator && token.userId !== caller.userId)) throw new RegistryError('NOT_FOUND', `token ${request.tokenId.slice(0, 40)} does not exist`, { field: 'token_id' });
      const revoked = await store.revokeToken(token.id);
      // Every gateway drops them at once (not only when their registry tokens expire).
      for (const each of revoked) await revocations.revokeToken(each.id, new Date(each.expiresAt));
      ctx.logger.info({ tokenIds: revoked.map((t) => t.id) }, 'API token revoked, with the tokens created from it');
      return {};
    },
  };
}
