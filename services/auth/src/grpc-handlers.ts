import type { AccessStateWriter } from '@ocireg/access-state';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { auth } from '@ocireg/proto';
import type { RegistryTokenIssuer } from './registry-tokens';
import type { SigningKeys } from './signing';
import type { TokenStore } from './token-store';
import { RegistryError } from '@ocireg/errors';

type Server = AsyncService<auth.AuthServiceServer>;

interface Caller {
  userId: string;
  email: string;
  operator: boolean;
}

export function authHandlers(deps: { store: TokenStore; issuer: RegistryTokenIssuer; keys: SigningKeys; revocations: Pick<AccessStateWriter, 'revokeToken'>; operatorEmails: readonly string[] }): Server {
  const { store, issuer, keys, revocations, operatorEmails } = deps;
  const isOperator = (email: string) => operatorEmails.includes(email.toLowerCase());

  /** The user behind the call's `authorization: Bearer <API token>`. */
  const callerOf = async (ctx: CallContext): Promise<Caller> => {
    const header = String(ctx.metadata.get('authorization')[0] ?? '');
    const verified = header.startsWith('Bearer ') ? await store.verify(header.slice(7).trim()) : undefined;
    if (!verified) throw new RegistryError('UNAUTHORIZED', 'this call needs authorization: Bearer <API token> in its metadata');
    return { userId: verified.user.id, email: verified.user.email, operator: isOperator(verified.user.email) };
  };
  const requireSelfOrOperator = (caller: Caller, userId: string) => {
    if (!caller.operator && caller.userId !== userId) throw new RegistryError('DENIED', 'only the user themselves or an operator may do this');
  };

  return {
    async createUser(request, ctx) {
      const caller = await callerOf(ctx);
      if (!caller.operator) throw new RegistryError('DENIED', 'only operators create users');
      return { user: await store.createUser(request.email, request.displayName) };
    },
    async getUser(request, ctx) {
      const caller = await callerOf(ctx);
      const user = await store.userByEmail(request.email);
      if (!user) throw new RegistryError('NOT_FOUND', `user ${request.email} does not exist`, { field: 'email' });
      requireSelfOrOperator(caller, user.id);
      return { user };
    },
    async createToken(request, ctx) {
      requireSelfOrOperator(await callerOf(ctx), request.userId);
      const created = await store.createToken(request.userId, request.name, request.expiresInSeconds, request.scopes);
      ctx.logger.info({ tokenId: created.token.id, userId: created.token.userId, scopes: created.token.scopes }, 'API token created');
      return created;
    },
    async listTokens(request, ctx) {
      requireSelfOrOperator(await callerOf(ctx), request.userId);
      return { tokens: await store.listTokens(request.userId) };
    },
    async revokeToken(request, ctx) {
      const caller = await callerOf(ctx);
      if (!caller.operator && !(await store.listTokens(caller.userId)).some((t) => t.id === request.tokenId)) {
        throw new RegistryError('DENIED', 'only the token owner or an operator may revoke it');
      }
      const token = await store.revokeToken(request.tokenId);
      // Every gateway drops it at once (not only when its registry tokens expire).
      await revocations.revokeToken(token.id, new Date(token.expiresAt));
      ctx.logger.info({ tokenId: token.id }, 'API token revoked');
      return {};
    },
    async introspectToken(request) {
      const verified = await store.verify(request.secret);
      return verified ? { active: true, token: verified.token, userEmail: verified.user.email, operator: isOperator(verified.user.email) } : { active: false, userEmail: '', operator: false };
    },
    async issueRegistryToken(request) {
      return issuer.issue(request);
    },
    async getJwks() {
      return { jwksJson: keys.jwksJson() };
    },
  };
}
