import { describe, expect, it } from 'vitest';
import { isWellFormedPattern, matchesPackagePattern, matchesPattern, packagePatternProblem, patternProblem } from './pattern';

describe('retention tag patterns', () => {
  it('match whole tags, anchored at both ends', () => {
    expect(matchesPattern('v*', 'v1.2.3')).toBe(true);
    expect(matchesPattern('v*', 'dev-v1')).toBe(false);
    expect(matchesPattern('latest', 'latest')).toBe(true);
    expect(matchesPattern('latest', 'latest-1')).toBe(false);
    expect(matchesPattern('latest', 'not-latest')).toBe(false);
    expect(matchesPattern('*-rc', '1.0-rc')).toBe(true);
    expect(matchesPattern('*-rc', '1.0-rc1')).toBe(false);
  });

  it('take * for any run, also none, and ? for exactly one character', () => {
    expect(matchesPattern('*', 'anything')).toBe(true);
    expect(matchesPattern('v*', 'v')).toBe(true);
    expect(matchesPattern('v?', 'v')).toBe(false);
    expect(matchesPattern('v?', 'v1')).toBe(true);
    expect(matchesPattern('v?', 'v12')).toBe(false);
    expect(matchesPattern('a*b*c', 'aXXbYYc')).toBe(true);
    expect(matchesPattern('a*b*c', 'aXXbYY')).toBe(false);
    expect(matchesPattern('**', 'x')).toBe(true);
    expect(matchesPattern('*a*a*a*a*b', 'a'.repeat(120))).toBe(false);
  });

  it('treat every other character literally (a dot is a dot)', () => {
    expect(matchesPattern('1.0', '1.0')).toBe(true);
    expect(matchesPattern('1.0', '1x0')).toBe(false);
    expect(matchesPattern('a-b_c', 'a-b_c')).toBe(true);
    expect(matchesPattern('V*', 'v1')).toBe(false);
  });

  it('match nothing, never everything, when empty or malformed', () => {
    for (const bad of ['', ' ', '*/*', 'v[0-9]', '.*', 'a b', '^v', 'v$', '*'.repeat(129), 'tag\n', 'é*']) {
      expect(isWellFormedPattern(bad), JSON.stringify(bad)).toBe(bad === '.*');
      if (bad !== '.*') {
        expect(patternProblem(bad)).toBeDefined();
        for (const tag of ['', 'latest', 'v1', 'a b', '*/*', 'x'.repeat(200)]) expect(matchesPattern(bad, tag)).toBe(false);
      }
    }
    // '.*' is well formed: a literal dot then anything.
    expect(matchesPattern('.*', 'latest')).toBe(false);
    expect(matchesPattern('.*', '.hidden')).toBe(true);
    expect(matchesPattern(undefined as unknown as string, 'latest')).toBe(false);
    expect(matchesPattern(null as unknown as string, 'latest')).toBe(false);
  });

  it('agree with an anchored regular expression on random patterns and tags', () => {
    const alphabet = 'ab.-*?';
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const word = (chars: string, max: number) => Array.from({ length: 1 + (next() % max) }, () => chars[next() % chars.length]).join('');
    for (let i = 0; i < 3000; i++) {
      const pattern = word(alphabet, 6);
      const tag = word('ab.-', 8);
      const regex = new RegExp(`^${pattern.replace(/[.-]/g, (c) => `\\${c}`).replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
      expect(matchesPattern(pattern, tag), `${pattern} ${tag}`).toBe(regex.test(tag));
    }
  });
});

describe('package name patterns (replication targets)', () => {
  it('match whole names, "*" across "/", and nothing when empty or malformed', () => {
    expect(matchesPackagePattern('*', 'team/api')).toBe(true);
    expect(matchesPackagePattern('team/*', 'team/a/b')).toBe(true);
    expect(matchesPackagePattern('team/*', 'other/team/a')).toBe(false);
    expect(matchesPackagePattern('web-?', 'web-1')).toBe(true);
    expect(matchesPackagePattern('web-?', 'web-12')).toBe(false);
    expect(matchesPackagePattern('api', 'api2')).toBe(false);
    for (const bad of ['', 'Team/*', 'a[b]', 'x'.repeat(256)]) {
      expect(packagePatternProblem(bad)).toBeDefined();
      expect(matchesPackagePattern(bad, 'team/api')).toBe(false);
    }
  });
});
