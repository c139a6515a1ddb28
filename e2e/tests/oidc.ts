import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Cookies a client keeps across redirects (name=value only: enough for the provider's interaction cookies). */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export interface OidcClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/**
 * An ID token from the provider by the authorization code flow with PKCE,
 * signing in through its login form as `account`, the way a CI system's
 * runner gets one for its job (only without a browser).
 */
export async function mintIdToken(issuer: string, client: OidcClient, account: { username: string; password: string }, scope = 'openid ci'): Promise<string> {
  const jar = new CookieJar();
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    response_type: 'code',
    scope,
    state: randomUUID(),
    nonce: randomUUID(),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  let url = `${issuer}/auth?${query}`;
  let code = '';
  for (let hop = 0; hop < 12 && !code; hop++) {
    let response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(response);
    // The provider's login form: sign in as the account.
    if (response.status === 200 && (await response.clone().text()).includes('name="password"')) {
      response = await fetch(`${url}/login`, { method: 'POST', redirect: 'manual', headers: { cookie: jar.header(), 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(account) });
      jar.take(response);
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`the provider stopped at ${url}: ${response.status} ${(await response.text()).slice(0, 300)}`);
    const next = new URL(location, url);
    if (next.href.startsWith(client.redirectUri)) {
      code = next.searchParams.get('code') ?? '';
      if (!code) throw new Error(`the provider refused: ${next.searchParams.get('error')} ${next.searchParams.get('error_description')}`);
    }
    url = next.href;
  }
  const token = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }),
  });
  const body = (await token.json()) as { id_token?: string; error?: string };
  if (!body.id_token) throw new Error(`no ID token: ${JSON.stringify(body)}`);
  return body.id_token;
}

/** The claims of a JWT, unverified (what a test looks at). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/**
 * A bare issuer for cases a real provider will not mint (a token not valid
 * yet): its JWKS served on 127.0.0.1, tokens signed with its key (RS256).
 */
export class StaticIssuer {
  private readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  private readonly kid = randomUUID();
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    const jwk = { ...this.key.publicKey.export({ format: 'jwk' }), kid: this.kid, alg: 'RS256', use: 'sig' };
    this.server = createServer((req, res) => {
      res.writeHead(req.url === '/jwks' ? 200 : 404, { 'Content-Type': 'application/json' });
      res.end(req.url === '/jwks' ? JSON.stringify({ keys: [jwk] }) : '{}');
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  sign(claims: Record<string, unknown>): string {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${encode({ alg: 'RS256', typ: 'JWT', kid: this.kid })}.${encode({ iss: this.url, jti: randomUUID(), ...claims })}`;
    return `${input}.${sign('sha256', Buffer.from(input), createPrivateKey(this.key.privateKey.export({ format: 'pem', type: 'pkcs8' }))).toString('base64url')}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
