import { createHash } from 'node:crypto';
import { RegistryError } from '@ocireg/errors';
import { unaryCall, type CallContext } from '@ocireg/grpc';
import type { auth } from '@ocireg/proto';

/** Who is calling the admin port, as auth vouches for them. */
export interface AdminCaller {
  /** The user assertion (signed by auth) forwarded with every call to metadata and auth. */
  assertion: string;
  userId: string;
  email: string;
  operator: boolean;
  scopes: string[];
  /** The API token behind the assertion, or "" for a web UI session. */
  tokenId: string;
  /** The web UI session behind the assertion, or "". */
  sessionId: string;
  /** A session's CSRF token: its state-changing requests must carry it. */
  csrfToken: string;
}

/** Where a request came from: its door, the client's address and user agent. */
export interface ClientOrigin {
  channel: 'admin-api' | 'json-api';
  clientAddress: string;
  userAgent: string;
}

/** How auth names a session in revocation broadcasts. */
const SESSION_REVOCATION = 'session:';

/** Package scopes that allow reads; admin-port listings check them here, the rest is checked by the service that answers. */
const READ_SCOPES = ['read:package', 'write:package', 'admin:package'];

/**
 * The callers of the admin port: `authorization: Bearer <API token>` is
 * exchanged at auth for a short-lived user assertion, cached until shortly
 * before it expires, and dropped as soon as the token is revoked.
 */
export class AdminCallers {
  private readonly cache = new Map<string, { caller: AdminCaller; until: number }>();

  constructor(private readonly auth: auth.AuthServiceClient) {}

  async of(ctx: CallContext): Promise<AdminCaller> {
    const header = String(ctx.metadata.get('authorization')[0] ?? '');
    if (!header.startsWith('Bearer ')) throw new RegistryError('UNAUTHORIZED', 'admin calls need authorization: Bearer <API token> in their metadata');
    const userAgent = ctx.metadata.get('user-agent')[0];
    return this.apiToken(header.slice(7).trim(), { channel: 'admin-api', clientAddress: peerAddress(ctx.peer), userAgent: typeof userAgent === 'string' ? userAgent : '' }, ctx.requestId);
  }

  /** The caller behind an API token; with `email` (Basic credentials), the token must be that user's. `from` is where the request came from (failed logins are audited with it). */
  apiToken(secret: string, from: ClientOrigin, requestId: string, email = ''): Promise<AdminCaller> {
    return this.exchange(`token\0${email}\0${secret}`, { apiToken: secret, sessionSecret: '', email, clientIp: from.clientAddress }, requestId, Infinity, from);
  }

  /**
   * The caller behind a web UI session's cookie. Cached for at most 30
   * seconds, so an idle or absolute end that auth enforces shows within that;
   * a sign-out reaches every gateway at once (forgetToken).
   */
  session(secret: string, from: ClientOrigin, requestId: string): Promise<AdminCaller> {
    return this.exchange(`session\0${secret}`, { apiToken: '', sessionSecret: secret, email: '', clientIp: from.clientAddress }, requestId, 30, from);
  }

  /** Drops a session's cached exchange (its sign-out on this gateway). */
  forgetSession(secret: string): void {
    this.cache.delete(createHash('sha256').update(`session\0${secret}`).digest('hex'));
  }

  private async exchange(identity: string, request: auth.ExchangeCredentialRequest, requestId: string, maxCacheSeconds: number, from: ClientOrigin): Promise<AdminCaller> {
    const key = createHash('sha256').update(identity).digest('hex');
    const cached = this.cache.get(key);
    if (cached && cached.until > Date.now()) return cached.caller;
    const exchanged = await unaryCall(this.auth.exchangeCredential.bind(this.auth), request, { requestId, origin: from });
    const caller: AdminCaller = {
      assertion: exchanged.assertion,
      userId: exchanged.userId,
      email: exchanged.email,
      operator: exchanged.operator,
      scopes: exchanged.scopes,
      tokenId: exchanged.tokenId,
      sessionId: exchanged.sessionId,
      csrfToken: exchanged.csrfToken,
    };
    if (this.cache.size > 10_000) this.cache.clear();
    // Re-exchanged a little before the assertion expires, so a forwarded one is never stale on arrival.
    this.cache.set(key, { caller, until: Date.now() + Math.min(Math.max(0, exchanged.expiresIn - 30), maxCacheSeconds) * 1000 });
    return caller;
  }

  /** A reader of listings: any package scope. */
  async reader(ctx: CallContext): Promise<AdminCaller> {
    const caller = await this.of(ctx);
    if (!caller.scopes.some((scope) => READ_SCOPES.includes(scope))) throw new RegistryError('DENIED', 'reading through the admin API needs a token with read:package (or a stronger package scope)');
    return caller;
  }

  /** A revoked token's cached assertion goes at once (revocations reach every gateway within a second). */
  forgetToken(tokenId: string): void {
    const sessionId = tokenId.startsWith(SESSION_REVOCATION) ? tokenId.slice(SESSION_REVOCATION.length) : undefined;
    for (const [key, entry] of this.cache) {
      if (sessionId ? entry.caller.sessionId === sessionId : entry.caller.tokenId === tokenId) this.cache.delete(key);
    }
  }

  /** Access changed somewhere: cached assertions carry no roles, but a fresh exchange is cheap and safe. */
  forgetAll(): void {
    this.cache.clear();
  }
}

/** "ipv4:10.0.0.1:5000" / "ipv6:[::1]:5000" -> the address part. */
export function peerAddress(peer: string): string {
  const withoutScheme = peer.replace(/^ipv[46]:/, '');
  const match = /^\[(.*)\]:\d+$/.exec(withoutScheme) ?? /^(.*):\d+$/.exec(withoutScheme);
  return match?.[1] ?? withoutScheme;
}
