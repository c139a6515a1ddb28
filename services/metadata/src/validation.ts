import { RegistryError } from '@ocireg/errors';

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const USER_ID = /^[A-Za-z0-9._@+-]{1,128}$/;

/** INVALID_ARGUMENT naming the field at fault, as the admin API promises. */
/** A repository path as the distribution spec allows it in a name: lowercase components separated by `/`. */
export const REPOSITORY_PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export function invalid(field: string, problem: string): RegistryError {
  return new RegistryError('INVALID_ARGUMENT', `${field}: ${problem}`, { field });
}

export function slug(field: string, value: string): string {
  if (!value || value.length > 63 || !SLUG.test(value)) throw invalid(field, 'must be 1-63 lowercase letters, digits and single dashes');
  return value;
}

export function uuid(field: string, value: string): string {
  if (!UUID.test(value)) throw invalid(field, 'must be a UUID');
  return value;
}

export function userId(field: string, value: string): string {
  if (!USER_ID.test(value)) throw invalid(field, 'must be 1-128 characters of letters, digits and ._@+-');
  return value;
}

export function displayName(field: string, value: string, fallback: string): string {
  const name = value.trim() || fallback;
  if (name.length > 200) throw invalid(field, 'must be at most 200 characters');
  return name;
}

export function pageSize(value: number): number {
  if (value < 0) throw invalid('page_size', 'must not be negative');
  return Math.min(value || 50, 500);
}

/**
 * Page tokens are opaque to callers: the last sort key of the previous page.
 * A forged one may carry what no key holds (a NUL, which PostgreSQL's text refuses).
 */
export function decodePageToken(token: string): string {
  if (!token) return '';
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof decoded.after === 'string' && !decoded.after.includes('\u0000')) return decoded.after;
  } catch {
    // fall through
  }
  throw invalid('page_token', 'is not a token this API returned');
}

export function encodePageToken(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}
