/**
 * Tag patterns of retention rules: globs over a whole tag name (anchored at
 * both ends), `*` for any run of characters (also none), `?` for exactly one.
 * Everything else is literal. A pattern is well formed when it is 1 to 128
 * characters of what a tag may hold (letters, digits, `_`, `.`, `-`) plus
 * `*` and `?`; an empty or malformed pattern matches NOTHING, never everything.
 * Matching is linear in the tag's length times the pattern's (no regular
 * expressions, so no pathological backtracking).
 */
export const PATTERN_MAX_LENGTH = 128;
const WELL_FORMED = /^[A-Za-z0-9_.\-*?]{1,128}$/;

/** Why a pattern is not well formed, or undefined when it is. */
export function patternProblem(pattern: string): string | undefined {
  if (typeof pattern !== 'string' || pattern.length === 0) return 'is empty';
  if (pattern.length > PATTERN_MAX_LENGTH) return `is longer than ${PATTERN_MAX_LENGTH} characters`;
  if (!WELL_FORMED.test(pattern)) return 'may hold only letters, digits, "_", ".", "-", "*" and "?"';
  return undefined;
}

export function isWellFormedPattern(pattern: string): boolean {
  return patternProblem(pattern) === undefined;
}

/** Whether `tag` matches `pattern` as a whole; false for an empty or malformed pattern. */
export function matchesPattern(pattern: string, tag: string): boolean {
  if (!isWellFormedPattern(pattern) || typeof tag !== 'string') return false;
  return globMatches(pattern, tag);
}

/**
 * Package name patterns (replication targets, docs/replication.md): the same
 * globs over a package's name without its workspace, which may also hold
 * lowercase path separators `/` (`*` runs across them: `team/*` matches
 * `team/a/b`). Empty or malformed: matches nothing.
 */
const NAME_WELL_FORMED = /^[a-z0-9_.\-/*?]{1,255}$/;

export function packagePatternProblem(pattern: string): string | undefined {
  if (typeof pattern !== 'string' || pattern.length === 0) return 'is empty';
  if (pattern.length > 255) return 'is longer than 255 characters';
  if (!NAME_WELL_FORMED.test(pattern)) return 'may hold only lowercase letters, digits, "_", ".", "-", "/", "*" and "?"';
  return undefined;
}

export function matchesPackagePattern(pattern: string, name: string): boolean {
  if (packagePatternProblem(pattern) !== undefined || typeof name !== 'string') return false;
  return globMatches(pattern, name);
}

function globMatches(pattern: string, tag: string): boolean {
  // Greedy glob matching with one backtrack point (the last `*`): O(n·m) at worst.
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < tag.length) {
    const c = pattern[p];
    if (p < pattern.length && (c === '?' || c === tag[t])) {
      p++;
      t++;
    } else if (p < pattern.length && c === '*') {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
