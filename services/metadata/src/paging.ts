import { RegistryError } from '@ocireg/errors';
import { encodePageToken } from './validation';

/** A page of an admin listing, and the opaque token of the next one ('' at the end). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** The first `limit` of `rows` (queried with `limit + 1`), with a token after the last when more follow. */
export function page<T>(rows: T[], limit: number, keyOf: (item: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextPageToken: rows.length > limit && last ? encodePageToken(keyOf(last)) : '' };
}

/** An OCI pagination marker (`last`): printable text of a sane length (PostgreSQL refuses NUL bytes in text). */
export function checkMarker(after: string): void {
  if (after.length > 512 || /[\u0000-\u001f\u007f]/.test(after)) throw new RegistryError('INVALID_ARGUMENT', 'last: must be a tag or repository name from an earlier page', { field: 'last' });
}
