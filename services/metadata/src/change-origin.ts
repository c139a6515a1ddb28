import { auditOrigin, serviceOrigin, type AssertedUser, type AuditOrigin } from '@ocireg/audit';
import { requestOriginOf, type CallContext } from '@ocireg/grpc';

/**
 * Who made a change and from where: the actor of its events and the origin
 * of its audit entry (recorded in the change's transaction).
 */
export type ChangeOrigin = AuditOrigin;
export type { AssertedUser };

/** The origin of a call's changes: the user its assertion names (admin calls), else the one the gateway names (registry calls). */
export function originOfCall(ctx: CallContext, user?: AssertedUser): ChangeOrigin {
  return auditOrigin('metadata', requestOriginOf(ctx.metadata), ctx.requestId, user);
}

/** Metadata acting on its own (garbage collection, retention): no user, no client. */
export function systemOrigin(actorService: string, requestId = ''): ChangeOrigin {
  return serviceOrigin('metadata', actorService, requestId);
}
