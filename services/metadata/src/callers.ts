import { RegistryError } from '@ocireg/errors';
import type { CallContext } from '@ocireg/grpc';
import type { UserAssertionVerifier } from '@ocireg/service-identity';
import type { AssertedUser } from './change-origin';

export interface Caller extends AssertedUser {
  operator: boolean;
}

/** Package scopes that allow reading through the admin API; changes need admin:package. */
const READ_SCOPES = ['read:package', 'write:package', 'admin:package'];

/**
 * Who is calling the admin API: the gateway forwards each admin call with the
 * user's assertion (signed by auth), which is checked here against the
 * internal CA alone, so metadata never calls auth back.
 */
export class CallerResolver {
  constructor(private readonly verifier: UserAssertionVerifier) {}

  /** The caller of a read (Get*, List*): any package scope will do. */
  reader(ctx: CallContext): Caller {
    return this.resolve(ctx, (scopes) => scopes.some((scope) => READ_SCOPES.includes(scope)), 'reading through the admin API needs a token with read:package (or a stronger package scope)');
  }

  /** The caller of a deletion (tags and images; the role decides which): write:package or admin:package. */
  writer(ctx: CallContext): Caller {
    return this.resolve(ctx, (scopes) => scopes.includes('write:package') || scopes.includes('admin:package'), 'deleting needs a token with write:package (or admin:package)');
  }

  /** The caller of a change: admin:package. */
  changer(ctx: CallContext): Caller {
    return this.resolve(ctx, (scopes) => scopes.includes('admin:package'), 'changes through the admin API need a token with the admin:package scope');
  }

  private resolve(ctx: CallContext, allowed: (scopes: string[]) => boolean, refusal: string): Caller {
    const header = String(ctx.metadata.get('authorization')[0] ?? '');
    if (!header.startsWith('Bearer ')) throw new RegistryError('UNAUTHORIZED', 'admin calls need authorization: Bearer <API token> in their metadata');
    const assertion = this.verifier.verify(header.slice(7).trim());
    if (!allowed(assertion.scopes)) throw new RegistryError('DENIED', refusal);
    return { userId: assertion.userId, email: assertion.email, tokenId: assertion.tokenId, sessionId: assertion.sessionId, operator: assertion.operator };
  }
}
