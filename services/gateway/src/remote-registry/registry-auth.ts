/** A bearer token lives at least this long when the token endpoint does not say (distribution's default). */
const DEFAULT_TOKEN_SECONDS = 60;
const MAX_CACHED_TOKENS = 1000;

export interface RegistryCredentials {
  /** For messages only ("<workspace>/<name>"); never the password. */
  label: string;
  username: string;
  password: string;
}

/** Sends one request (the caller's guard, timeout and error mapping). */
export type SendRequest = (url: string, method: string, headers: Record<string, string>) => Promise<Response>;
/** Makes the caller's error for a refusal (401/403 after credentials, no usable scheme) or an unusable token endpoint. */
export type AuthFailure = (kind: 'refused' | 'unreachable', message: string) => Error;

/**
 * How this registry authenticates to another one (pull-through upstreams,
 * replication targets): Basic with the stored credentials, or a Bearer token
 * for the scope asked ("repository:<name>:pull" or ":pull,push") from the
 * token realm the registry's challenge names, cached per scope until it
 * expires. Never puts the password in a message.
 */
export class RegistryAuth {
  private readonly tokens = new Map<string, { token: string; until: number }>();

  constructor(
    private readonly credentials: RegistryCredentials,
    private readonly send: SendRequest,
    private readonly fail: AuthFailure,
  ) {}

  /** What a first try carries: a cached token for the scope, else Basic when there are credentials. */
  initial(scope: string): string | undefined {
    const cached = this.tokens.get(scope);
    return cached && cached.until > Date.now() ? `Bearer ${cached.token}` : this.basic();
  }

  /** The Authorization a 401's WWW-Authenticate asks for: Basic, or a Bearer token for `scope` from its realm. */
  async answer(challenge: string, scope: string): Promise<string> {
    const { label } = this.credentials;
    const scheme = challenge.split(' ')[0]!.toLowerCase();
    if (scheme === 'basic') {
      const basic = this.basic();
      if (!basic) throw this.fail('refused', `${label} asks for credentials and none are configured`);
      return basic;
    }
    if (scheme !== 'bearer') throw this.fail('refused', `${label} asks for an authentication scheme this registry does not speak`);
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm || !/^https?:\/\//.test(params.realm)) throw this.fail('refused', `${label} names no token realm`);
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', scope);
    const basic = this.basic();
    const response = await this.send(tokenUrl.toString(), 'GET', basic ? { Authorization: basic } : {});
    if (!response.ok) {
      await response.body?.cancel();
      throw this.fail(response.status === 401 || response.status === 403 ? 'refused' : 'unreachable', `${label}'s token endpoint answered ${response.status}`);
    }
    const body = (await response.json().catch(() => ({}))) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw this.fail('unreachable', `${label}'s token endpoint gave no token`);
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    if (this.tokens.size > MAX_CACHED_TOKENS) this.tokens.clear();
    this.tokens.set(scope, { token, until: Date.now() + Math.max(seconds - 10, 1) * 1000 });
    return `Bearer ${token}`;
  }

  private basic(): string | undefined {
    const { username, password } = this.credentials;
    return username ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : undefined;
  }
}
