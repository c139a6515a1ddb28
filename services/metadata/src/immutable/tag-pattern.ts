import { invalid } from '../validation';

/** A tag's characters (the OCI tag grammar) plus the glob's `*` and `?`; at most a tag's 128 characters. */
const PATTERN = /^[A-Za-z0-9_.*?-]{1,128}$/;

/**
 * A tag pattern of an immutable tag rule, checked before it is stored: `*`
 * matches any run of characters (also none), `?` exactly one, every other
 * character itself; the whole tag must match (anchored at both ends). An empty
 * or malformed pattern is refused (INVALID_ARGUMENT naming `field`), never
 * read as "everything".
 */
export function tagPattern(field: string, value: string): string {
  if (!value) throw invalid(field, 'is required (a glob such as v*, release-?, or * for every tag)');
  if (!PATTERN.test(value)) throw invalid(field, 'must be 1-128 characters of letters, digits, _ . - and the wildcards * and ?');
  return value;
}

/**
 * Whether a tag matches a glob (`*`, `?`), anchored: the classic greedy
 * wildcard match with one backtrack point, linear in practice and never
 * exponential. A pattern that is not well formed matches nothing.
 */
export function matchesTagPattern(pattern: string, tag: string): boolean {
  if (!PATTERN.test(pattern) || tag.length === 0) return false;
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < tag.length) {
    const c = pattern[p];
    if (c === '*') {
      star = p++;
      resume = t;
    } else if (c !== undefined && (c === '?' || c === tag[t])) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
