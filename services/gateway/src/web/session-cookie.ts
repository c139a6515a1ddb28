import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';

/** Over TLS cookies take the __Host- prefix: Secure, Path=/, no Domain, so no other host can set or read them. */
const cookieName = (name: string, secure: boolean) => `${secure ? '__Host-' : ''}ocireg_${name}`;

/**
 * The web UI's session cookie: HttpOnly (scripts never see it), SameSite=Lax
 * (other sites' forms and scripts do not carry it), Secure when the registry
 * is served over TLS: an https PUBLIC_URL, a TLS socket, or X-Forwarded-Proto
 * https from one of the trusted proxies (TRUSTED_PROXY_CIDRS), never from anyone else.
 */
export class SessionCookies {
  private readonly trusted: (address: string, hop: number) => boolean;

  constructor(private readonly options: { publicUrl?: string; trustedProxies: readonly string[] }) {
    this.trusted = proxyaddr.compile([...options.trustedProxies]);
  }

  isHttps(req: IncomingMessage): boolean {
    if (this.options.publicUrl) return this.options.publicUrl.startsWith('https:');
    if ((req.socket as { encrypted?: boolean }).encrypted) return true;
    const peer = req.socket.remoteAddress ?? '';
    return this.trusted(peer, 0) && String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim() === 'https';
  }

  /** The origin pages of this registry are served from: PUBLIC_URL's, else the request's scheme and Host. */
  expectedOrigin(req: IncomingMessage): string {
    if (this.options.publicUrl) return new URL(this.options.publicUrl).origin;
    return `${this.isHttps(req) ? 'https' : 'http'}://${req.headers.host ?? ''}`;
  }

  read(req: IncomingMessage): string | undefined {
    return this.readNamed(req, 'session');
  }

  set(req: IncomingMessage, res: ServerResponse, secret: string, maxAgeSeconds: number): void {
    res.appendHeader('Set-Cookie', this.serializeNamed(req, 'session', secret, maxAgeSeconds));
  }

  clear(req: IncomingMessage, res: ServerResponse): void {
    res.appendHeader('Set-Cookie', this.serializeNamed(req, 'session', '', 0));
  }

  /** Another cookie of ours with the same protections (e.g. "oidc_state", a single sign-on under way). */
  readNamed(req: IncomingMessage, name: string): string | undefined {
    const header = req.headers.cookie;
    if (!header) return undefined;
    return parseCookies(header).get(cookieName(name, this.isHttps(req)));
  }

  serializeNamed(req: IncomingMessage, name: string, value: string, maxAgeSeconds: number): string {
    const secure = this.isHttps(req);
    return `${cookieName(name, secure)}=${value}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  }
}

/** Cookie header -> name/value pairs (values are our own base64url, so no decoding is needed). */
function parseCookies(header: string): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}
