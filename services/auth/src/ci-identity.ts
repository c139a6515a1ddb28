import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { RegistryError } from '@ocireg/errors';
import type { TrustedIssuerRecord, TrustedIssuerStore } from './trusted-issuers';

/** The username of `docker login` with a CI job's ID token. */
export const CI_USERNAME = 'oidc';

/** Who a CI login is: the job of a source repository, as one workspace's trusted issuer maps its claims. */
export interface CiLogin {
  /** What registry tokens' `sub` says: the job (one per ID token). */
  sub: string;
  trustedIssuerId: string;
  workspace: string;
  sourceRepositoryId: string;
  pullSourceRepositoryIds: string[];
  /** The grants end here: at most CI_LOGIN_SECONDS after the login. */
  expiresAt: string;
  /** The claims that granted it, for the record. */
  claims: JWTPayload;
}

const refuse = (message: string) => new RegistryError('UNAUTHORIZED', `CI login refused: ${message}`);

/** Only https, or plain http on loopback (tests, a provider on the same host). */
export function checkIssuerUrl(field: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RegistryError('INVALID_ARGUMENT', `${field}: must be a URL`, { field });
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new RegistryError('INVALID_ARGUMENT', `${field}: must be an https URL`, { field });
  return value.replace(/\/$/, '');
}

/**
 * Verifies a CI job's ID token against the workspaces that trust its issuer:
 * signature by the issuer's keys (its JWKS), issuer, audience (this
 * registry's), expiry and not-before (a few seconds' leeway), a jti used
 * once; then the repository claim, mapped by one workspace's registration to
 * a source repository. Every refusal is a 401 that says which check failed.
 */
export class CiIdentities {
  private readonly keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(
    private readonly deps: {
      issuers: TrustedIssuerStore;
      /** The `aud` an ID token must carry (CI_ID_TOKEN_AUDIENCE). */
      audience: string;
      /** How long a login's grants last (at most 15 minutes). */
      loginSeconds: number;
      fetch?: typeof fetch;
    },
  ) {}

  async login(idToken: string): Promise<CiLogin> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(idToken);
    } catch {
      throw refuse('the password is not a JWT (send the job\'s OIDC ID token)');
    }
    const issuer = typeof unverified.iss === 'string' ? unverified.iss.replace(/\/$/, '') : '';
    const registrations = issuer ? await this.deps.issuers.byIssuer(issuer) : [];
    if (registrations.length === 0) throw refuse(`issuer ${issuer.slice(0, 200) || '(none)'} is not trusted by any workspace of this registry`);

    // Each registration trusts the keys it names (its JWKS URL, or the issuer's discovery): a workspace
    // that names other keys for the same issuer must not make tokens count for another workspace.
    const bySource = new Map<string, TrustedIssuerRecord[]>();
    for (const registration of registrations) bySource.set(registration.jwksUrl, [...(bySource.get(registration.jwksUrl) ?? []), registration]);
    let claims: JWTPayload | undefined;
    const verified: TrustedIssuerRecord[] = [];
    let firstFailure: unknown;
    for (const group of bySource.values()) {
      try {
        claims = await this.verify(idToken, issuer, group[0]!);
        verified.push(...group);
      } catch (err) {
        firstFailure ??= err;
      }
    }
    if (!claims) throw firstFailure;
    if (typeof claims.jti !== 'string' || !claims.jti) throw refuse('the ID token has no jti, so its reuse could not be told apart');
    const jti = claims.jti;

    const matches = verified.flatMap((registration) => {
      const value = claims[registration.repositoryClaim];
      const mapping = typeof value === 'string' ? registration.mappings.find((m) => m.claimValue === value) : undefined;
      return mapping ? [{ registration, mapping }] : [];
    });
    if (matches.length === 0) {
      const named = [...new Set(verified.map((r) => `${r.repositoryClaim}=${String(claims[r.repositoryClaim] ?? '(none)').slice(0, 100)}`))].join(', ');
      throw refuse(`no workspace that trusts ${issuer.slice(0, 200)} maps ${named} to a source repository`);
    }
    if (new Set(matches.map((m) => m.registration.workspaceSlug)).size > 1) throw refuse(`the token's claims map to source repositories of several workspaces (${matches.map((m) => m.registration.workspaceSlug).join(', ')}); each job logs in to one`);
    const { registration, mapping } = matches[0]!;

    // Used once: docker login keeps the refresh token it gets, never the ID token.
    if (!(await this.deps.issuers.firstUse(issuer, jti, new Date((claims.exp ?? 0) * 1000)))) throw refuse(`this ID token was used already (jti ${jti.slice(0, 80)}); each login needs a fresh one`);
    const sub = `ci.${createHash('sha256').update(`${issuer}\0${jti}`).digest('hex').slice(0, 32)}`;
    return {
      sub,
      trustedIssuerId: registration.id,
      workspace: registration.workspaceSlug,
      sourceRepositoryId: mapping.sourceRepositoryId,
      pullSourceRepositoryIds: mapping.pullSourceRepositoryIds,
      expiresAt: new Date(Date.now() + this.deps.loginSeconds * 1000).toISOString(),
      claims,
    };
  }

  private async verify(idToken: string, issuer: string, registration: TrustedIssuerRecord): Promise<JWTPayload> {
    const keys = await this.keySetOf(registration);
    try {
      const { payload } = await jwtVerify(idToken, keys, { issuer: [issuer, `${issuer}/`], audience: this.deps.audience, clockTolerance: 5, requiredClaims: ['exp'] });
      return payload;
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw refuse(`the ID token expired at ${new Date(Number(decodeJwt(idToken).exp ?? 0) * 1000).toISOString()}`);
      if (err instanceof errors.JWTClaimValidationFailed) {
        if (err.claim === 'aud') throw refuse(`the ID token's audience must be ${this.deps.audience} (this registry)`);
        if (err.claim === 'nbf') throw refuse(`the ID token is not valid before ${new Date(Number(decodeJwt(idToken).nbf ?? 0) * 1000).toISOString()}`);
        throw refuse(`the ID token's ${err.claim} claim is wrong (${err.reason})`);
      }
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
        throw refuse(`the ID token's signature does not verify with ${issuer.slice(0, 200)}'s keys`);
      }
      if (err instanceof errors.JOSEError) throw refuse(`the ID token could not be checked (${err.code})`);
      throw new RegistryError('UNAVAILABLE', `the signing keys of ${issuer.slice(0, 200)} cannot be fetched right now; try again shortly`);
    }
  }

  /** The issuer's keys: its JWKS URL, or the jwks_uri its discovery document names; fetched and cached by jose. */
  private async keySetOf(registration: TrustedIssuerRecord): Promise<ReturnType<typeof createRemoteJWKSet>> {
    let url = registration.jwksUrl;
    if (!url) {
      const discovery = `${registration.issuerUrl}/.well-known/openid-configuration`;
      const response = await (this.deps.fetch ?? fetch)(discovery, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      const document = response?.ok ? ((await response.json().catch(() => ({}))) as { jwks_uri?: unknown }) : {};
      if (typeof document.jwks_uri !== 'string') throw new RegistryError('UNAVAILABLE', `the discovery document of ${registration.issuerUrl.slice(0, 200)} cannot be read right now; try again shortly`);
      url = checkIssuerUrl('jwks_uri', document.jwks_uri);
    }
    let keys = this.keySets.get(url);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000, cooldownDuration: 1_000 });
      if (this.keySets.size > 1000) this.keySets.clear();
      this.keySets.set(url, keys);
    }
    return keys;
  }
}
