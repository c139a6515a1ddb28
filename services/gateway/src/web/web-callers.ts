import type { IncomingMessage } from 'node:http';
import { RegistryError } from '@ocireg/errors';
import type { AccessGuard } from '../access-guard';
import type { AdminCaller, AdminCallers, ClientOrigin } from '../admin/admin-callers';
import { AuthChallenge } from '../auth-guard';
import { basicCredentials } from '../basic-credentials';
import { isSafeMethod, requireCsrfToken, requireSameOrigin } from './request-guards';
import type { SessionCookies } from './session-cookie';

/** Who is calling the JSON API, and with what. */
export interface WebCaller extends AdminCaller {
  /** A web UI session (cookie), an API token (Basic or Bearer), or a registry token (Bearer JWT: listings only). */
  via: 'session' | 'api-token' | 'registry-token';
}

const API_TOKEN = /^ocireg_[a-f0-9]{16}_[A-Za-z0-9_-]{43}$/;

/**
 * The callers of /api/v1: a session cookie (the web UI), an API token as
 * Basic email:token or Bearer (scripts), or a registry token (Bearer JWT, as
 * the OCI API takes). Sessions and API tokens are exchanged at auth for a user
 * assertion (AdminCallers), which metadata and auth check on every forwarded
 * call: the gateway decides nothing about roles. A session's state-changing
 * requests must also come from our Origin and carry its CSRF token.
 */
export class WebCallers {
  constructor(
    private readonly deps: {
      callers: AdminCallers;
      guard: AccessGuard;
      cookies: SessionCookies;
      /** The Bearer challenge a 401 carries (the token endpoint's realm). */
      challenge: (req: IncomingMessage) => string;
    },
  ) {}

  /** The client's address (X-Forwarded-For only from trusted proxies). */
  clientAddress(req: IncomingMessage): string {
    return this.deps.guard.clientAddress(req);
  }

  async of(req: IncomingMessage, requestId: string): Promise<WebCaller> {
    const { callers, guard, cookies } = this.deps;
    const from: ClientOrigin = { channel: 'json-api', clientAddress: guard.clientAddress(req), userAgent: req.headers['user-agent'] ?? '' };
    const header = req.headers.authorization ?? '';
    try {
      if (header.startsWith('Basic ')) {
        const basic = basicCredentials(header);
        if (!basic) throw new RegistryError('UNAUTHORIZED', 'Basic credentials must be email:API token');
        return { ...(await callers.apiToken(basic.password, from, requestId, basic.username)), via: 'api-token' };
      }
      if (header.startsWith('Bearer ')) {
        const bearer = header.slice(7).trim();
        if (API_TOKEN.test(bearer)) return { ...(await callers.apiToken(bearer, from, requestId)), via: 'api-token' };
        // A registry token: the user it names may read listings (no assertion, so nothing else).
        const userId = await guard.viewer(req, 'registry:catalog:*');
        return { assertion: '', userId, email: '', operator: false, scopes: ['read:package'], tokenId: '', sessionId: '', csrfToken: '', via: 'registry-token' };
      }
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'UNAUTHORIZED' && !(err instanceof AuthChallenge)) throw new AuthChallenge('UNAUTHORIZED', err.message, this.deps.challenge(req));
      throw err;
    }
    const secret = cookies.read(req);
    if (!secret) throw new AuthChallenge('UNAUTHORIZED', 'sign in first (or send an API token)', this.deps.challenge(req));
    if (!isSafeMethod(req.method)) requireSameOrigin(req, cookies.expectedOrigin(req));
    const caller: WebCaller = { ...(await callers.session(secret, from, requestId)), via: 'session' };
    if (!isSafeMethod(req.method)) requireCsrfToken(req, caller.csrfToken);
    return caller;
  }
}

/** Calls that act through metadata or auth need a user assertion: a session or an API token, not a registry token. */
export function requireAssertion(caller: WebCaller): AdminCaller {
  if (!caller.assertion) throw new RegistryError('UNAUTHORIZED', 'this endpoint needs a session or an API token (a registry token only reads listings)');
  return caller;
}
