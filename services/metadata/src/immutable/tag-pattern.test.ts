import { describe, expect, it } from 'vitest';
import { matchesTagPattern, tagPattern } from './tag-pattern';

describe('immutable tag patterns', () => {
  it.each([
    ['v*', 'v1', true],
    ['v*', 'v', true],
    ['v*', 'v1.2.3', true],
    ['v*', 'latest', false],
    ['v*', 'av1', false],
    ['release-*', 'release-2024', true],
    ['release-*', 'release', false],
    ['release-*', 'prerelease-1', false],
    ['*', 'anything', true],
    ['*', 'v1', true],
    ['latest', 'latest', true],
    ['latest', 'latest2', false],
    ['latest', 'xlatest', false],
    ['v?', 'v1', true],
    ['v?', 'v12', false],
    ['v?', 'v', false],
    ['*-rc', '1.0-rc', true],
    ['*-rc', '1.0-rc1', false],
    ['*.*.*', '1.2.3', true],
    ['*.*.*', '1.2', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYYcZ', false],
    ['a*b*c', 'abcabc', true],
    ['**', 'x', true],
    ['v.1', 'vx1', false], // a dot is a dot, not a regex wildcard
    ['V*', 'v1', false], // case matters, as in tags
  ])('%s against %s: %s', (pattern, tag, expected) => {
    expect(matchesTagPattern(pattern, tag)).toBe(expected);
  });

  it('a malformed or empty pattern matches nothing, not everything', () => {
    for (const pattern of ['', ' ', 'v 1', '[v]*', 'v*/x', '^v*', 'a'.repeat(129), 'v\n*', 'v*\u0000', '(v|l)*']) {
      expect(matchesTagPattern(pattern, 'v1')).toBe(false);
      expect(matchesTagPattern(pattern, 'latest')).toBe(false);
    }
    // A dot is only a dot: '.*' is "a dot, then anything", not a regular expression's "everything".
    expect(matchesTagPattern('.*', 'v1')).toBe(false);
    expect(matchesTagPattern('.*', '.x')).toBe(true);
  });

  it('an empty tag matches nothing', () => {
    expect(matchesTagPattern('*', '')).toBe(false);
  });

  it('refuses empty and malformed patterns at creation with INVALID_ARGUMENT naming the field', () => {
    for (const bad of ['', ' v*', 'v*/x', '[a-z]', 'a'.repeat(129), 'ü*', 'v*,latest']) {
      expect(() => tagPattern('pattern', bad)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT', detail: { field: 'pattern' } }));
    }
    expect(tagPattern('pattern', 'v*')).toBe('v*');
    expect(tagPattern('pattern', '*')).toBe('*');
    expect(tagPattern('pattern', 'release-?.*')).toBe('release-?.*');
  });

  it('stays fast on patterns that make backtracking matchers explode', () => {
    const started = performance.now();
    expect(matchesTagPattern('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(128))).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });
});
