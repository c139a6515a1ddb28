import type { Metadata } from '@grpc/grpc-js';

/**
 * Who a call acts for and where the request came from, as the gateway saw
 * it: carried in gRPC metadata to the service that records the change (its
 * events and audit log). Only the gateway reaches the services that read it
 * (their caller policies), so they trust it as they trust its request ids;
 * a user assertion, where there is one, names the user instead.
 */
export interface RequestOrigin {
  /** The user's id ("" for anonymous). */
  actor?: string;
  email?: string;
  /** The API token behind the request, or ''. */
  tokenId?: string;
  /** The web UI session behind the request, or ''. */
  sessionId?: string;
  /** The door: registry (/v2), admin-api (the admin port), json-api (/api/v1). */
  channel?: 'registry' | 'admin-api' | 'json-api' | '';
  clientAddress?: string;
  userAgent?: string;
}

const KEYS = {
  actor: 'x-actor',
  email: 'x-actor-email',
  tokenId: 'x-actor-token',
  sessionId: 'x-actor-session',
  channel: 'x-channel',
  clientAddress: 'x-client-address',
  userAgent: 'x-client-user-agent',
} as const satisfies Record<keyof RequestOrigin, string>;

/** Longest value kept per field (a user agent is the longest that matters). */
const LIMITS: Record<keyof RequestOrigin, number> = { actor: 128, email: 320, tokenId: 64, sessionId: 64, channel: 16, clientAddress: 64, userAgent: 300 };

/** Printable ASCII only: metadata values cannot carry more, and logs and the audit log want none. */
function clean(value: string, max: number): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
}

export function setRequestOrigin(metadata: Metadata, origin: RequestOrigin): void {
  for (const [field, key] of Object.entries(KEYS) as Array<[keyof RequestOrigin, string]>) {
    const value = origin[field];
    if (value) metadata.set(key, clean(value, LIMITS[field]));
  }
}

/** The origin a call carries; fields it lacks are "". */
export function requestOriginOf(metadata: Metadata): Required<RequestOrigin> {
  const read = (field: keyof RequestOrigin) => {
    const value = metadata.get(KEYS[field])[0];
    return typeof value === 'string' ? clean(value, LIMITS[field]) : '';
  };
  const channel = read('channel');
  return {
    actor: read('actor'),
    email: read('email'),
    tokenId: read('tokenId'),
    sessionId: read('sessionId'),
    channel: channel === 'registry' || channel === 'admin-api' || channel === 'json-api' ? channel : '',
    clientAddress: read('clientAddress'),
    userAgent: read('userAgent'),
  };
}
