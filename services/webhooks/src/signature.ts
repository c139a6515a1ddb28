import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The header that carries the signatures (docs/webhooks.md). */
export const SIGNATURE_HEADER = 'x-ocireg-signature';

export const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/** HMAC-SHA256 of "<timestamp>.<body>" with one secret, hex. */
export function sign(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * The header value: `t=<unix seconds>,v1=<hex>`, with a second `v1=` while
 * the previous secret still signs (rotation overlap): a receiver accepts the
 * request when any v1 matches a secret it knows.
 */
export function signatureHeader(secrets: readonly string[], timestamp: number, body: string): string {
  return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${sign(secret, timestamp, body)}`)].join(',');
}

/** A receiver's check (the tests', and docs/webhooks.md's example): a v1 made with `secret`, a timestamp within `toleranceSeconds`. */
export function verifySignature(header: string, secret: string, body: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const parts = header.split(',').map((part) => part.split('=') as [string, string]);
  const timestamp = Number(parts.find(([key]) => key === 't')?.[1]);
  if (!Number.isSafeInteger(timestamp) || Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(sign(secret, timestamp, body), 'hex');
  return parts.some(([key, value]) => key === 'v1' && value?.length === expected.length * 2 && timingSafeEqual(Buffer.from(value, 'hex'), expected));
}
