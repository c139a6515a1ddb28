import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import jwt from 'jsonwebtoken';
import { contentWorkspace, type AccessSnapshot, type AccessStateReader } from '@ocireg/access-state';
import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { auth } from '@ocireg/proto';
import type { AccessGuard, Actor, RepositoryAction } from './access-guard';
import { basicCredentials } from './basic-credentials';

/** A 401 that tells the client where to get a token (the distribution token spec's challenge). */
export class AuthChallenge extends RegistryError {
  constructor(
    code: 'UNAUTHORIZED' | 'DENIED',
    message: string,
    readonly wwwAuthenticate: string,
  ) {
    super(code, message, undefined, 401);
  }
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** How long a Basic credential's exchange is reused (its token's expiry cuts it shorter). */
const BASIC_CACHE_MS = 30_000;

/** Verified tokens remembered at most (about 1 MiB of claims); past it the cache starts over. */
const VERIFIED_TOKENS_KEPT = 5_000;

/** docker's scope words for our actions. */
const SCOPE_WORD: Record<RepositoryAction, string> = { pull: 'pull', push: 'push', delete: 'delete', 'delete-manifest': 'delete' };

export interface TokenGuardDeps {
  authClient: auth.AuthServiceClient;
  /** Revoked tokens and access changes, loaded at start and then watched (Redis or PostgreSQL). */
  accessState: AccessStateReader;
  logger: Logger;
  /** Public base URL of the registry, or undefined to derive it from each request's Host. */
  publicUrl?: string;
  service: string;
  /** Hosts whose requests get their own token endpoint as the realm, publicUrl or not (dockerd's mirror hosts: their tokens name the mirrored packages). */
  ownRealm?: (host: string | undefined) => boolean;
  /** The client's address (X-Forwarded-For only from trusted proxies), for auth's failed-login limits. */
  clientAddress(request: IncomingMessage): string;
  /** Told of every revocation, so other caches of credentials (the admin port's) drop them too. */
  onRevoked?: (tokenId: string) => void;
  /** Told of content removed in a workspace ("content:<slug>"), and of a reload after missed messages, for the content caches. */
  content?: { removed(workspace: string): void; resync(): void };
}

/**
 * Verifies registry tokens (JWTs from auth, checked with its published keys)
 * and answers 401 with a Bearer challenge. Basic credentials straight on the
 * API are exchanged for a token at auth, cached briefly.
 */
export class TokenAccessGuard implements AccessGuard {
  private keys = new Map<string, KeyObject>();
  private keysFetchedAt = 0;
  /** The last fetch of the keys failed: a token they would check is then an outage (503), not a bad token (401). */
  private keysUnreachable = false;
  private readonly unknownKids = new Set<string>();
  private readonly revoked = new Set<string>();
  /** When access last changed per "user:<id>" and "workspace:<slug>"; grants decided before that are stale. */
  private readonly accessEpochs = new Map<string, number>();
  private readonly basicCache = new Map<string, { claims: jwt.JwtPayload; until: number }>();
  /** Claims of tokens whose signature was checked, by the token's SHA-256. */
  private readonly verifiedTokens = new Map<string, jwt.JwtPayload>();

  constructor(private readonly deps: TokenGuardDeps) {}

  /** Loads keys and revocations, and listens for new revocations (they reach every replica within a second). */
  async start(): Promise<void> {
    // Auth may not be up yet (a whole release starting at once): the gateway serves anyway and
    // fetches the keys on the first token it cannot check, so it needs no restart loop to find them.
    await this.refreshKeys(true).catch(() => this.deps.logger.warn('auth is not reachable yet: its signing keys are fetched when the first token needs them'));
    await this.deps.accessState.watch({
      onSnapshot: (snapshot) => this.merge(snapshot),
      onRevoked: (tokenId) => {
        this.revoked.add(tokenId);
        this.basicCache.clear();
        this.deps.onRevoked?.(tokenId);
      },
      onAccessChanged: (subject, epochMs) => {
        const workspace = contentWorkspace(subject);
        if (workspace !== undefined) return this.deps.content?.removed(workspace);
        this.noteAccessChange(subject, epochMs);
        this.basicCache.clear();
      },
    });
  }

  /** Fetches auth's signing keys unless some are loaded already; fails while auth cannot be reached. */
  async loadKeys(): Promise<void> {
    if (this.keys.size === 0) await this.refreshKeys(true);
  }

  /** Snapshots come at start and after a reconnection: merged, since a message may have arrived while one was read. */
  private merge(snapshot: AccessSnapshot): void {
    for (const tokenId of snapshot.revokedTokens) {
      this.revoked.add(tokenId);
      this.deps.onRevoked?.(tokenId);
    }
    for (const [subject, epochMs] of snapshot.accessEpochs) if (contentWorkspace(subject) === undefined) this.noteAccessChange(subject, epochMs);
    this.basicCache.clear();
    this.deps.content?.resync();
  }

  private noteAccessChange(subject: string, epochMs: number): void {
    this.accessEpochs.set(subject, Math.max(epochMs, this.accessEpochs.get(subject) ?? 0));
  }

  clientAddress(request: IncomingMessage): string {
    return this.deps.clientAddress(request);
  }

  realm(request: IncomingMessage): string {
    const own = this.deps.ownRealm?.(request.headers.host) ?? false;
    if (this.deps.publicUrl && !own) return `${this.deps.publicUrl.replace(/\/$/, '')}/v2/token`;
    const proto = this.deps.publicUrl?.startsWith('https:') || request.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
    return `${proto}://${request.headers.host ?? 'localhost'}/v2/token`;
  }

  private challenge(request: IncomingMessage, scope: string | undefined, error?: string): string {
    return `Bearer realm="${this.realm(request)}",service="${this.deps.service}"${scope ? `,scope="${scope}"` : ''}${error ? `,error="${error}"` : ''}`;
  }

  async authorize(request: IncomingMessage, repository: string, actions: RepositoryAction[], alsoAsk: string[] = []): Promise<Actor> {
    // A push also asks for pull (as Distribution does), so one token serves the whole push.
    const words = new Set(actions.map((a) => SCOPE_WORD[a]));
    if (words.has('push')) words.add('pull');
    const scope = [`repository:${repository}:${['pull', 'push', 'delete'].filter((w) => words.has(w)).join(',')}`, ...alsoAsk].join(' ');
    const claims = await this.claimsOf(request, scope.split(' '));
    const workspace = repository.slice(0, repository.indexOf('/'));
    // Access in this workspace changed after the grant was decided: the client must fetch a fresh token.
    const stale = claims && (claims.iatMs as number) < (this.accessEpochs.get(`workspace:${workspace}`) ?? 0);
    if (!claims || stale) throw new AuthChallenge('UNAUTHORIZED', 'authentication required', this.challenge(request, scope));
    const granted = new Set((claims.access as Access[] | undefined)?.filter((a) => a.type === 'repository' && a.name === repository).flatMap((a) => a.actions) ?? []);
    if (!actions.every((action) => granted.has(action))) {
      // One answer whether the package is missing or hidden from the caller (docs/security.md).
      const hint = actions.includes('push') ? `; packages are created by an Admin of the source repository they link to: registryctl package create ${workspace} ${repository.slice(workspace.length + 1)} --repository <id>` : '';
      throw new AuthChallenge('DENIED', `requested access to the resource is denied: ${repository} does not exist or you have no role on it that allows this${hint}`, this.challenge(request, scope, 'insufficient_scope'));
    }
    return { userId: typeof claims.sub === 'string' ? claims.sub : '', tokenId: typeof claims.tid === 'string' ? claims.tid : '' };
  }

  /** GET /v2/ only needs a valid identity. */
  async authenticate(request: IncomingMessage): Promise<void> {
    if (!(await this.claimsOf(request, []))) throw new AuthChallenge('UNAUTHORIZED', 'authentication required', this.challenge(request, undefined));
  }

  async viewer(request: IncomingMessage, scope: string): Promise<string> {
    const claims = await this.claimsOf(request, [scope]);
    if (!claims) throw new AuthChallenge('UNAUTHORIZED', 'authentication required', this.challenge(request, scope));
    return typeof claims.sub === 'string' ? claims.sub : '';
  }

  /** Verified claims of the request's credentials, or undefined when it has none (or bad ones). */
  private async claimsOf(request: IncomingMessage, scopes: string[]): Promise<jwt.JwtPayload | undefined> {
    const header = request.headers.authorization ?? '';
    if (header.startsWith('Bearer ')) return this.verify(header.slice(7).trim());
    if (header.startsWith('Basic ')) return this.exchangeBasic(header, scopes, this.deps.clientAddress(request), request.headers['user-agent'] ?? '');
    return undefined;
  }

  /** Claims of a valid, unrevoked token whose grants are not stale. */
  private async verify(token: string): Promise<jwt.JwtPayload | undefined> {
    const claims = await this.verifiedClaims(token);
    if (!claims) return undefined;
    if (typeof claims.tid === 'string' && claims.tid && this.revoked.has(claims.tid)) return undefined;
    if (typeof claims.iatMs !== 'number' || claims.iatMs < (this.accessEpochs.get(`user:${String(claims.sub ?? '')}`) ?? 0)) return undefined;
    return claims;
  }

  /**
   * Checks a token's signature, issuer, audience and expiry once and
   * remembers the claims until it expires: a pull sends one token with every
   * request, and an ES256 verification costs about as much as the rest of a
   * manifest HEAD. Revocations and access changes are checked on every use.
   */
  private async verifiedClaims(token: string): Promise<jwt.JwtPayload | undefined> {
    const cacheKey = createHash('sha256').update(token).digest('base64');
    const cached = this.verifiedTokens.get(cacheKey);
    if (cached && (cached.exp ?? 0) * 1000 > Date.now()) return cached;
    const decoded = jwt.decode(token, { complete: true });
    const kid = decoded?.header.kid;
    if (!kid) return undefined;
    if (!this.keys.has(kid)) await this.refreshKeys(false, kid);
    const key = this.keys.get(kid);
    if (!key && this.keysUnreachable) throw new RegistryError('UNAVAILABLE', 'the signing keys of auth cannot be fetched right now; try again shortly');
    if (!key) return undefined;
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(token, key, { algorithms: ['ES256'], issuer: 'ocireg-auth', audience: 'ocireg' }) as jwt.JwtPayload;
    } catch {
      return undefined;
    }
    if (typeof claims.exp !== 'number') return undefined;
    if (this.verifiedTokens.size >= VERIFIED_TOKENS_KEPT) this.verifiedTokens.clear();
    this.verifiedTokens.set(cacheKey, claims);
    return claims;
  }

  private async exchangeBasic(header: string, scopes: string[], clientIp: string, userAgent: string): Promise<jwt.JwtPayload | undefined> {
    const cacheKey = createHash('sha256').update(header).update('\0').update(scopes.join(' ')).digest('hex');
    const cached = this.basicCache.get(cacheKey);
    if (cached && cached.until > Date.now()) return cached.claims;
    const basic = basicCredentials(header);
    if (!basic) return undefined;
    try {
      const { authClient } = this.deps;
      const issued = await unaryCall(authClient.issueRegistryToken.bind(authClient), {
        ...basic,
        refreshToken: '',
        scopes,
        offline: false,
        clientIp,
      }, { origin: { channel: 'registry', clientAddress: clientIp, userAgent } });
      const claims = await this.verify(issued.token);
      if (claims) {
        if (this.basicCache.size > 10_000) this.basicCache.clear();
        // Never past the registry token's expiry, which is never past the API token's.
        this.basicCache.set(cacheKey, { claims, until: Math.min(Date.now() + BASIC_CACHE_MS, (claims.exp ?? 0) * 1000) });
      }
      return claims;
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') return undefined;
      throw err; // 429 (too many failed logins) and outages go to the client as they are
    }
  }

  /**
   * Fetches auth's public keys: at start, and on an unknown kid (key rotation
   * without downtime) - at once for a kid not seen before, else at most once a
   * second, so made-up kids cannot turn requests into a flood of key fetches.
   */
  private async refreshKeys(force: boolean, kid?: string): Promise<void> {
    const firstSight = kid !== undefined && !this.unknownKids.has(kid) && this.unknownKids.size < 1000;
    if (kid) this.unknownKids.add(kid);
    if (!force && !firstSight && Date.now() - this.keysFetchedAt < 1_000) return;
    this.keysFetchedAt = Date.now();
    try {
      const { authClient } = this.deps;
      const { jwksJson } = await unaryCall(authClient.getJwks.bind(authClient), {});
      const jwks = JSON.parse(jwksJson) as { keys: Array<{ kid: string } & Record<string, unknown>> };
      this.keys = new Map(jwks.keys.map((jwk) => [jwk.kid, createPublicKey({ key: jwk as never, format: 'jwk' })]));
      this.keysUnreachable = false;
    } catch (err) {
      this.keysUnreachable = true;
      // A forced fetch (start, readiness) leaves the failure to its caller, which reports it once.
      if (force) throw err;
      this.deps.logger.warn({ err }, 'could not fetch signing keys from auth');
    }
  }
}
