import { describe, expect, it } from 'vitest';
import { anonymousActions, grantedActions, parseScope } from './scopes';

describe('docker scopes', () => {
  it('parses repository scopes', () => {
    expect(parseScope('repository:acme/app:pull,push')).toEqual({ type: 'repository', name: 'acme/app', actions: ['pull', 'push'] });
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
    expect(parseScope('nonsense')).toBeUndefined();
  });

  it.each([
    // requested, token scopes, role, expected
    [['pull', 'push'], ['read:package', 'write:package'], 'write', ['pull', 'push']],
    [['pull', 'push'], ['read:package'], 'admin', ['pull']],
    [['pull', 'push'], ['write:package'], 'read', ['pull']],
    [['pull', 'push'], ['write:package'], undefined, []],
    [['delete'], ['admin:package'], 'write', ['delete']],
    [['delete'], ['admin:package'], 'admin', ['delete', 'delete-manifest']],
    [['delete'], ['write:package'], 'admin', ['delete', 'delete-manifest']],
    [['delete'], ['write:package'], 'write', ['delete']],
    [['delete'], ['read:package'], 'admin', []],
    [['pull'], [], 'admin', []],
    [['*'], ['admin:package'], 'admin', ['pull', 'push', 'delete', 'delete-manifest']],
  ] as const)('asked %j with %j as %s gets %j', (requested, scopes, role, expected) => {
    expect(grantedActions([...requested], [...scopes], role)).toEqual(expected);
  });

  it('grants anonymous pull only on public workspaces', () => {
    expect(anonymousActions(['pull', 'push'], true)).toEqual(['pull']);
    expect(anonymousActions(['pull'], false)).toEqual([]);
    expect(grantedActions(['pull'], ['read:package'], undefined, true)).toEqual(['pull']);
  });
});
