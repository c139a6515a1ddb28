import { createHash } from 'node:crypto';
import { RegistryError } from '@ocireg/errors';
import type { CallContext } from '@ocireg/grpc';

export interface Caller {
  userId: string;
  operator: boolean;
}

export interface TokenIntrospection {
  /** What an API token secret stands for, or undefined when it is not an active token. */
  introspect(secret: string): Promise<{ userId: string; scopes: string[]; operator: boolean } | undefined>;
}

const CACHE_MS = 5_000;

/**
 * Who is calling the admin API: the `authorization: Bearer <API token>` of the
 * call, checked by auth (cached for a few seconds), with the admin:package scope.
 */
export class CallerResolver {
  private readonly cache = new Map<string, { caller: Caller; until: number }>();

  constructor(private readonly tokens: TokenIntrospection) {}

  async resolve(ctx: CallContext): Promise<Caller> {
    const header = String(ctx.metadata.get('authorization')[0] ?? '');
    if (!header.startsWith('Bearer ')) throw new RegistryError('UNAUTHORIZED', 'admin calls need authorization: Bearer <API token> in their metadata');
    const secret = header.slice(7).trim();
    const key = createHash('sha256').update(secret).digest('hex');
    const cached = this.cache.get(key);
    if (cached && cached.until > Date.now()) return cached.caller;
    const token = await this.tokens.introspect(secret);
    if (!token) throw new RegistryError('UNAUTHORIZED', 'the API token is unknown, expired or revoked');
    if (!token.scopes.includes('admin:package')) throw new RegistryError('DENIED', 'admin calls need a token with the admin:package scope');
    const caller = { userId: token.userId, operator: token.operator };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { caller, until: Date.now() + CACHE_MS });
    return caller;
  }
}
