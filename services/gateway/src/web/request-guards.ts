import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RegistryError } from '@ocireg/errors';

/** Methods that change nothing: everything else needs the CSRF checks below when a session cookie authenticates it. */
export function isSafeMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/**
 * A state-changing request from a browser must come from our own pages: its
 * Origin (sent by browsers on every POST, PUT, PATCH and DELETE) must be ours;
 * without one, Sec-Fetch-Site must say same-origin. Anything else is refused.
 */
export function requireSameOrigin(req: IncomingMessage, expectedOrigin: string): void {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (origin === expectedOrigin) return;
    throw new RegistryError('DENIED', 'cross-origin request refused (the Origin is not this registry)');
  }
  if (req.headers['sec-fetch-site'] === 'same-origin') return;
  throw new RegistryError('DENIED', 'request refused: a browser request that changes something must carry this registry\'s Origin');
}

/** The session's CSRF token must come back in X-CSRF-Token (a header other sites cannot set on our requests). */
export function requireCsrfToken(req: IncomingMessage, expected: string): void {
  const sent = req.headers['x-csrf-token'];
  if (!expected || typeof sent !== 'string' || !sameSecret(sent, expected)) {
    throw new RegistryError('DENIED', 'missing or wrong X-CSRF-Token: reload the page and try again');
  }
}

/** Constant-time comparison of two strings of any length (their SHA-256 digests are compared). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}
