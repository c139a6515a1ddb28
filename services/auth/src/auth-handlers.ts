import type { AccessStateWriter } from '@ocireg/access-state';
import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { auth } from '@ocireg/proto';
import type { UserAssertionSigner } from '@ocireg/service-identity';
import { originOfCall } from './change-origin';
import type { CredentialChecker } from './credentials';
import type { CredentialEvents } from './credential-events';
import type { InvitationPolicy } from './invitation-policy';
import type { OidcSignIn } from './oidc-sign-in';
import { unknownLink, type PasswordLinks } from './password-links';
import type { PasswordSignIn } from './password-sign-in';
import type { PasswordStore } from './password-store';
import type { PasswordHasher } from './passwords';
import type { RegistryTokenIssuer } from './registry-tokens';
import { TOKEN_SCOPES } from './scopes';
import type { SessionRecord, SessionStore } from './session-store';
import type { SigningKeys } from './signing';
import type { TokenStore } from './token-store';

/** User assertions live this long at most (never longer than the credential behind them). */
export const ASSERTION_SECONDS = 300;

/** A UI session acts with the user's whole authority: every scope, bounded by the user's roles alone. */
const SESSION_SCOPES = [...TOKEN_SCOPES];

/** What a revocation broadcast calls a session (API tokens are named by their bare id). */
export const sessionRevocationId = (sessionId: string) => `session:${sessionId}`;

/** The internal AuthService: what the gateway asks of auth (only its certificate may call). */
export function authHandlers(deps: {
  store: TokenStore;
  issuer: RegistryTokenIssuer;
  keys: SigningKeys;
  credentials: CredentialChecker;
  assertions: UserAssertionSigner;
  isOperator: (email: string) => boolean;
  sessions: SessionStore;
  signIn: PasswordSignIn;
  oidc: OidcSignIn;
  events: CredentialEvents;
  links: PasswordLinks;
  invitations: Pick<InvitationPolicy, 'checkWorkspaceInvitation'>;
  passwords: PasswordStore;
  hasher: PasswordHasher;
  revocations: Pick<AccessStateWriter, 'revokeToken'>;
}): AsyncService<auth.AuthServiceServer> {
  const { store, issuer, keys, credentials, assertions, isOperator, sessions, signIn, oidc, events, links, invitations, passwords, hasher, revocations } = deps;
  const endEverywhere = async (ended: SessionRecord[]) => {
    for (const session of ended) await revocations.revokeToken(sessionRevocationId(session.id), new Date(session.expiresAt));
  };

  const exchangeSession = async (secret: string): Promise<auth.ExchangeCredentialResponse> => {
    const resumed = await sessions.resume(secret);
    if (!resumed) throw new RegistryError('UNAUTHORIZED', 'the session has ended; sign in again');
    const { session, user } = resumed;
    const expiresIn = secondsUntil(session.idleExpiresAt);
    const operator = isOperator(user.email);
    const assertion = assertions.sign({ userId: user.id, email: user.email, operator, scopes: SESSION_SCOPES, tokenId: '', credentialExpiresAt: session.expiresAt, sessionId: session.id }, expiresIn);
    return { assertion, expiresIn, userId: user.id, email: user.email, operator, scopes: SESSION_SCOPES, tokenId: '', sessionId: session.id, csrfToken: sessions.csrfToken(secret) };
  };

  const exchangeApiToken = async (secret: string, clientIp: string, email: string, ctx: CallContext): Promise<auth.ExchangeCredentialResponse> => {
    const { token, user } = await credentials.apiToken(secret, clientIp, originOfCall(ctx, undefined, clientIp), email || undefined);
    const expiresIn = secondsUntil(token.expiresAt);
    const operator = isOperator(user.email);
    const assertion = assertions.sign({ userId: user.id, email: user.email, operator, scopes: token.scopes, tokenId: token.id, credentialExpiresAt: token.expiresAt, sessionId: '' }, expiresIn);
    return { assertion, expiresIn, userId: user.id, email: user.email, operator, scopes: token.scopes, tokenId: token.id, sessionId: '', csrfToken: '' };
  };

  return {
    async issueRegistryToken(request, ctx) {
      return issuer.issue(request, originOfCall(ctx, undefined, request.clientIp));
    },
    async getJwks() {
      return { jwksJson: keys.jwksJson() };
    },
    async exchangeCredential(request, ctx) {
      if (request.sessionSecret) return exchangeSession(request.sessionSecret);
      return exchangeApiToken(request.apiToken, request.clientIp, request.email, ctx);
    },
    async lookupUsers(request) {
      const found = await store.lookupUsers(request.users.slice(0, 1000));
      return { users: found.map((user) => ({ id: user.id, email: user.email, query: user.query, serviceAccountWorkspace: user.serviceAccountWorkspace })) };
    },
    async createSession(request, ctx) {
      const { secret, session } = await signIn.signIn(request.email, request.password, { ip: request.clientIp, userAgent: request.userAgent }, originOfCall(ctx, undefined, request.clientIp));
      ctx.logger.info({ sessionId: session.id, userId: session.userId, provider: session.provider }, 'session opened');
      return { sessionSecret: secret, sessionId: session.id, expiresAt: session.expiresAt, maxAgeSeconds: Math.max(0, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000)) };
    },
    async endSession(request, ctx) {
      const ended = await sessions.end(request.sessionSecret, originOfCall(ctx));
      if (ended) {
        await endEverywhere([ended]);
        events.record({ kind: 'sign-out', actor: ended.userId, provider: ended.provider, sessionId: ended.id }, ctx.requestId);
      }
      return {};
    },
    async listSignInMethods() {
      return { passwordEnabled: signIn.enabled, providers: oidc.list() };
    },
    async beginOidcSignIn(request) {
      return oidc.begin(request.provider, request.redirectUri, request.returnTo);
    },
    async completeOidcSignIn(request, ctx) {
      const origin = originOfCall(ctx, undefined, request.clientIp);
      const { secret, session, returnTo } = await oidc.complete(request.provider, request.state, request.callbackQuery, { ip: request.clientIp, userAgent: request.userAgent }, origin);
      return { sessionSecret: secret, sessionId: session.id, expiresAt: session.expiresAt, maxAgeSeconds: Math.max(0, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000)), returnTo };
    },
    async inspectPasswordLink(request) {
      const link = await links.inspect(request.secret);
      if (!link) throw unknownLink();
      return { email: link.email, purpose: link.purpose, expiresAt: link.expiresAt };
    },
    async redeemPasswordLink(request, ctx) {
      // A made-up secret costs no argon2 (19 MiB and tens of ms each): the link is looked up first.
      if (!(await links.inspect(request.secret))) throw unknownLink();
      // Hashed before the transaction (argon2 takes a while); checks the policy first.
      const hash = await hasher.hash(request.password);
      const link = await links.redeem(request.secret, originOfCall(ctx, undefined, request.clientIp), async (found, client) => {
        // A workspace admin's invitation: the user may have gained roles elsewhere (or a password) since it was made.
        if (found.workspaceSlug !== undefined) await invitations.checkWorkspaceInvitation({ id: found.userId, email: found.email }, found.workspaceSlug);
        await passwords.set(found.userId, hash, client);
        // A reset signs out everywhere: whoever knew the old password loses their sessions.
        return { ended: await sessions.endAllOf(found.userId, client) };
      });
      await endEverywhere(link.applied.ended);
      ctx.logger.info({ userId: link.userId, purpose: link.purpose, linkId: link.id }, 'password set with a link');
      return { email: link.email };
    },
  };
}

function secondsUntil(iso: string): number {
  return Math.max(1, Math.min(ASSERTION_SECONDS, Math.floor((Date.parse(iso) - Date.now()) / 1000)));
}

