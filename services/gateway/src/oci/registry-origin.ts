import type { IncomingMessage } from 'node:http';
import type { RequestOrigin } from '@ocireg/grpc';
import type { AccessGuard, Actor } from '../access-guard';

/** Who a registry request acts for and where it came from: what metadata records with the change (events, audit log). */
export function registryOrigin(guard: AccessGuard, req: IncomingMessage, actor: Actor): RequestOrigin {
  return { actor: actor.userId, tokenId: actor.tokenId, channel: 'registry', clientAddress: guard.clientAddress(req), userAgent: req.headers['user-agent'] ?? '' };
}
