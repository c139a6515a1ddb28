import type { AsyncService } from '@ocireg/grpc';
import type { auth } from '@ocireg/proto';
import type { UserAssertionSigner } from '@ocireg/service-identity';
import type { CredentialChecker } from './credentials';
import type { RegistryTokenIssuer } from './registry-tokens';
import type { SigningKeys } from './signing';
import type { TokenStore } from './token-store';

/** User assertions live this long at most (never longer than the credential behind them). */
export const ASSERTION_SECONDS = 300;

/** The internal AuthService: what the gateway asks of auth (only its certificate may call). */
export function authHandlers(deps: {
  store: TokenStore;
  issuer: RegistryTokenIssuer;
  keys: SigningKeys;
  credentials: CredentialChecker;
  assertions: UserAssertionSigner;
  isOperator: (email: string) => boolean;
}): AsyncService<auth.AuthServiceServer> {
  const { store, issuer, keys, credentials, assertions, isOperator } = deps;
  return {
    async issueRegistryToken(request) {
      return issuer.issue(request);
    },
    async getJwks() {
      return { jwksJson: keys.jwksJson() };
    },
    async exchangeCredential(request) {
      const { token, user } = await credentials.apiToken(request.apiToken, request.clientIp);
      const expiresIn = Math.max(1, Math.min(ASSERTION_SECONDS, Math.floor((Date.parse(token.expiresAt) - Date.now()) / 1000)));
      const operator = isOperator(user.email);
      const assertion = assertions.sign(
        { userId: user.id, email: user.email, operator, scopes: token.scopes, tokenId: token.id, credentialExpiresAt: token.expiresAt, sessionId: '' },
        expiresIn,
      );
      return { assertion, expiresIn, userId: user.id, email: user.email, operator, scopes: token.scopes, tokenId: token.id };
    },
    async lookupUsers(request) {
      const found = await store.lookupUsers(request.users.slice(0, 1000));
      return { users: found.map((user) => ({ id: user.id, email: user.email, query: user.query })) };
    },
  };
}
