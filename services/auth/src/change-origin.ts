import { auditOrigin, serviceOrigin, type AssertedUser, type AuditOrigin } from '@ocireg/audit';
import { requestOriginOf, type CallContext } from '@ocireg/grpc';

/**
 * The origin of a call's changes, for the audit log: the user its assertion
 * names (UserService calls), else the one the gateway names; the client's
 * address as the gateway forwarded it, or as the request itself carries it
 * (`clientIp` of sign-ins and token requests).
 */
export function originOfCall(ctx: CallContext, user?: AssertedUser, clientIp = ''): AuditOrigin {
  const forwarded = requestOriginOf(ctx.metadata);
  return auditOrigin('auth', { ...forwarded, clientAddress: forwarded.clientAddress || clientIp }, ctx.requestId, user);
}

/** Auth acting on its own (the bootstrap operator at start). */
export function systemOrigin(actorService: string): AuditOrigin {
  return serviceOrigin('auth', actorService);
}
