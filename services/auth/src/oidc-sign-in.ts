import type { Pool } from 'pg';
import * as oidc from 'openid-client';
import type { AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import type { CredentialEvents } from './credential-events';
import type { OidcAccounts } from './oidc-accounts';
import type { OidcProviderConfig } from './oidc-providers';
import type { SecretHasher } from './secret-hasher';
import type { SessionRecord, SessionStore } from './session-store';

/** A sign-in under way lasts this long (the person signs in at their provider meanwhile). */
const ATTEMPT_SECONDS = 600;

/** What a provider's groups give (metadata applies them: ApplyIdentityProviderRoles). */
export interface ProviderGrant {
  workspaceSlug: string;
  sourceRepository: string;
  role: 'read' | 'write' | 'admin';
}

export type ApplyProviderRoles = (userId: string, provider: string, grants: ProviderGrant[]) => Promise<{ applied: number; skipped: string[] }>;

interface Client {
  ip: string;
  userAgent: string;
}

const refuse = (message: string) => new RegistryError('UNAUTHORIZED', `sign-in refused: ${message}`);

/** Only a path on this registry ("/..." but not "//host"): never an open redirect. */
export function safeReturnTo(value: string): string {
  return /^\/(?![/\\])[\x21-\x7e]{0,500}$/.test(value) ? value : '/';
}

/**
 * Single sign-on for the web UI: the authorization code flow with PKCE
 * (openid-client) at the providers operators configure (OIDC_PROVIDERS).
 * `begin` remembers the state, PKCE verifier and nonce (the state only as an
 * HMAC) and sends the browser to the provider; `complete` takes the
 * provider's answer once: the code is exchanged, the ID token verified
 * (signature, issuer, audience, expiry, nonce), the email must be verified,
 * the user is found or created, the provider's groups give their roles, and
 * a session like the password sign-in's opens, naming its provider.
 */
export class OidcSignIn {
  private readonly configurations = new Map<string, Promise<oidc.Configuration>>();

  constructor(
    private readonly deps: {
      providers: readonly OidcProviderConfig[];
      pool: Pool;
      secrets: SecretHasher;
      accounts: OidcAccounts;
      sessions: SessionStore;
      applyRoles: ApplyProviderRoles;
      events: CredentialEvents;
    },
  ) {}

  list(): Array<{ name: string; displayName: string }> {
    return this.deps.providers.map((p) => ({ name: p.name, displayName: p.displayName ?? p.name }));
  }

  async begin(name: string, redirectUri: string, returnTo: string): Promise<{ authorizationUrl: string; state: string }> {
    const provider = this.provider(name);
    if (!/^https?:\/\/[^\s]+$/.test(redirectUri) || redirectUri.length > 1000) throw new RegistryError('INVALID_ARGUMENT', 'redirect_uri: must be a URL', { field: 'redirect_uri' });
    const configuration = await this.configuration(provider);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    await this.deps.pool.query('DELETE FROM auth_oidc_attempts WHERE expires_at < now()');
    await this.deps.pool.query(
      `INSERT INTO auth_oidc_attempts (state_hash, provider, code_verifier, nonce, redirect_uri, return_to, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
      [this.deps.secrets.hash(state), provider.name, verifier, nonce, redirectUri, safeReturnTo(returnTo), ATTEMPT_SECONDS],
    );
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: provider.scopes.join(' '),
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { authorizationUrl: url.href, state };
  }

  /** The provider's answer (the query of the callback the browser came back to). */
  async complete(name: string, state: string, callbackQuery: string, client: Client, origin: AuditOrigin): Promise<{ secret: string; session: SessionRecord; returnTo: string }> {
    const provider = this.provider(name);
    try {
      return await this.completeAt(provider, state, callbackQuery, client, origin);
    } catch (err) {
      const reason = err instanceof RegistryError ? err.message : 'the identity provider did not confirm the sign-in';
      this.deps.events.record({ kind: 'sign-in.refused', actor: '', provider: provider.name, reason, clientIp: client.ip });
      await this.deps.events.audit(origin, { action: 'session.sign-in', outcome: 'failure', target: { type: 'identity-provider', name: provider.name }, after: { reason: reason.slice(0, 300) } });
      if (err instanceof RegistryError) throw err;
      throw refuse(`the identity provider did not confirm the sign-in (${oidcErrorCode(err)})`);
    }
  }

  private async completeAt(provider: OidcProviderConfig, state: string, callbackQuery: string, client: Client, origin: AuditOrigin) {
    // Used once, by the provider it was begun with, within its ten minutes.
    const { rows } = await this.deps.pool.query<{ code_verifier: string; nonce: string; redirect_uri: string; return_to: string }>(
      'DELETE FROM auth_oidc_attempts WHERE state_hash = $1 AND provider = $2 AND expires_at > now() RETURNING code_verifier, nonce, redirect_uri, return_to',
      [this.deps.secrets.hash(state), provider.name],
    );
    const attempt = rows[0];
    if (!attempt) throw refuse('this sign-in is unknown, used or expired; start again');
    const answer = new URLSearchParams(callbackQuery.slice(0, 8000));
    if (answer.get('error')) throw refuse(`the identity provider said ${JSON.stringify(answer.get('error')!.slice(0, 100))}`);
    const configuration = await this.configuration(provider);
    const callbackUrl = new URL(attempt.redirect_uri);
    callbackUrl.search = answer.toString();
    const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, { pkceCodeVerifier: attempt.code_verifier, expectedNonce: attempt.nonce, expectedState: state, idTokenExpected: true });
    let claims: Record<string, unknown> = { ...tokens.claims()! };
    if (claims[provider.emailClaim] === undefined && tokens.access_token) {
      claims = { ...(await oidc.fetchUserInfo(configuration, tokens.access_token, String(claims.sub))), ...claims };
    }
    const email = claims[provider.emailClaim];
    if (typeof email !== 'string' || !email) throw refuse(`the identity provider gave no ${provider.emailClaim} claim`);
    const verified = claims.email_verified === true || claims.email_verified === 'true' || (claims.email_verified === undefined && provider.emailsAlwaysVerified);
    if (!verified) throw refuse(`the identity provider says ${email.slice(0, 200)} is not verified`);

    const { user, created } = await this.deps.accounts.userFor(provider.name, String(claims.sub), email, typeof claims.name === 'string' ? claims.name : '', origin);
    let roles: { groups: string[]; applied: number; skipped: string[] } | undefined;
    if (provider.groupsClaim) {
      const value = claims[provider.groupsClaim];
      const groups = Array.isArray(value) ? value.filter((g): g is string => typeof g === 'string').slice(0, 1000) : [];
      const grants = provider.groupRoles.filter((g) => groups.includes(g.group)).map((g) => ({ workspaceSlug: g.workspace, sourceRepository: g.sourceRepository ?? '', role: g.role }));
      roles = { groups, ...(await this.deps.applyRoles(user.id, provider.name, grants)) };
    }
    const opened = await this.deps.sessions.create(user, provider.name, client, origin);
    this.deps.events.record({
      kind: 'sign-in',
      actor: user.id,
      provider: provider.name,
      sessionId: opened.session.id,
      email: user.email,
      subject: String(claims.sub),
      createdUser: created,
      groups: roles?.groups ?? [],
      grantsApplied: roles?.applied ?? 0,
      grantsSkipped: roles?.skipped ?? [],
      clientIp: client.ip,
    });
    return { ...opened, returnTo: attempt.return_to };
  }

  private provider(name: string): OidcProviderConfig {
    const provider = this.deps.providers.find((p) => p.name === name);
    if (!provider) throw new RegistryError('NOT_FOUND', `no identity provider is called ${JSON.stringify(name.slice(0, 40))}`, { field: 'provider' });
    return provider;
  }

  /** The provider's discovery document, fetched once (again after a failure). */
  private configuration(provider: OidcProviderConfig): Promise<oidc.Configuration> {
    let found = this.configurations.get(provider.name);
    if (!found) {
      const issuer = new URL(provider.issuer);
      // Plain http only on loopback (checkIssuerUrl): a provider on the same host, as in the tests.
      const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
      found = oidc.discovery(issuer, provider.clientId, undefined, oidc.ClientSecretBasic(provider.clientSecret), { execute, timeout: 10 });
      found.catch(() => this.configurations.delete(provider.name));
      this.configurations.set(provider.name, found);
    }
    return found.catch((err: unknown) => {
      throw new RegistryError('UNAVAILABLE', `the identity provider ${provider.name} cannot be reached (${oidcErrorCode(err)})`);
    });
  }
}

/** openid-client's error code (never its whole message: it may quote a response). */
function oidcErrorCode(err: unknown): string {
  const code = (err as { code?: unknown; error?: unknown }).error ?? (err as { code?: unknown }).code;
  return typeof code === 'string' ? code.slice(0, 80) : 'error';
}
