import { isWellFormedPattern, matchesPattern } from '../retention/pattern';
import { invalid } from '../validation';

/**
 * A tag pattern of an immutable tag rule, checked before it is stored: `*`
 * matches any run of characters (also none), `?` exactly one, every other
 * character itself; the whole tag must match (anchored at both ends). An empty
 * or malformed pattern is refused (INVALID_ARGUMENT naming `field`), never
 * read as "everything".
 */
export function tagPattern(field: string, value: string): string {
  if (!value) throw invalid(field, 'is required (a glob such as v*, release-?, or * for every tag)');
  if (!isWellFormedPattern(value)) throw invalid(field, 'must be 1-128 characters of letters, digits, _ . - and the wildcards * and ?');
  return value;
}

/**
 * Whether a tag matches a glob (`*`, `?`), anchored: the matcher retention
 * rules use (retention/pattern.ts), one grammar for both. A pattern that is
 * not well formed matches nothing, nor does an empty tag.
 */
export function matchesTagPattern(pattern: string, tag: string): boolean {
  return tag.length > 0 && matchesPattern(pattern, tag);
}
