import type { Redis } from 'ioredis';
import type { AsyncService } from '@ocireg/grpc';
import type { auth } from '@ocireg/proto';
import type { RegistryTokenIssuer } from './registry-tokens';
import { announceRevocation } from './revocations';
import type { SigningKeys } from './signing';
import type { TokenStore } from './token-store';
import { RegistryError } from '@ocireg/errors';

type Server = AsyncService<auth.AuthServiceServer>;

export function authHandlers(deps: { store: TokenStore; issuer: RegistryTokenIssuer; keys: SigningKeys; redis: Redis }): Server {
  const { store, issuer, keys, redis } = deps;
  return {
    async createUser(request) {
      return { user: await store.createUser(request.email, request.displayName) };
    },
    async getUser(request) {
      const user = await store.userByEmail(request.email);
      if (!user) throw new RegistryError('NOT_FOUND', `user ${request.email} does not exist`, { field: 'email' });
      return { user };
    },
    async createToken(request, ctx) {
      const created = await store.createToken(request.userId, request.name, request.expiresInSeconds, request.scopes);
      ctx.logger.info({ tokenId: created.token.id, userId: created.token.userId, scopes: created.token.scopes }, 'API token created');
      return created;
    },
    async listTokens(request) {
      return { tokens: await store.listTokens(request.userId) };
    },
    async revokeToken(request, ctx) {
      const token = await store.revokeToken(request.tokenId);
      await announceRevocation(redis, token.id, new Date(token.expiresAt));
      ctx.logger.info({ tokenId: token.id }, 'API token revoked');
      return {};
    },
    async introspectToken(request) {
      const verified = await store.verify(request.secret);
      return verified ? { active: true, token: verified.token } : { active: false };
    },
    async issueRegistryToken(request) {
      return issuer.issue(request);
    },
    async getJwks() {
      return { jwksJson: keys.jwksJson() };
    },
  };
}
