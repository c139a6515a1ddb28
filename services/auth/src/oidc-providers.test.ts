import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOidcProviders } from './oidc-providers';
import { safeReturnTo } from './oidc-sign-in';

const corp = { name: 'corp', issuer: 'https://sso.example.com/realms/corp', clientId: 'ocireg', clientSecret: 's3cret' };

describe('identity providers configuration (OIDC_PROVIDERS)', () => {
  it('takes a list with defaults, and none when unset', () => {
    expect(loadOidcProviders(undefined, undefined)).toEqual([]);
    expect(loadOidcProviders('  ', undefined)).toEqual([]);
    const [provider] = loadOidcProviders(JSON.stringify([{ ...corp, groupsClaim: 'groups', groupRoles: [{ group: 'admins', workspace: 'acme' }, { group: 'devs', workspace: 'acme', sourceRepository: 'main/app', role: 'write' }] }]), undefined);
    expect(provider).toMatchObject({ scopes: ['openid', 'email', 'profile'], emailClaim: 'email', emailsAlwaysVerified: false, groupRoles: [{ group: 'admins', workspace: 'acme', role: 'admin' }, { role: 'write', sourceRepository: 'main/app' }] });
  });

  it('reads the list from OIDC_PROVIDERS_FILE instead, naming that variable in its errors', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'oidc-providers-')), 'providers.json');
    writeFileSync(file, JSON.stringify([corp]));
    expect(loadOidcProviders(undefined, file).map((p) => p.name)).toEqual(['corp']);
    writeFileSync(file, JSON.stringify([{ ...corp, clientId: '' }]));
    expect(() => loadOidcProviders(undefined, file)).toThrow(/^OIDC_PROVIDERS_FILE: 0\.clientId/);
  });

  it('refuses what would be unsafe or ambiguous, naming the field', () => {
    const load = (value: unknown) => () => loadOidcProviders(JSON.stringify(value), undefined);
    expect(() => loadOidcProviders('{not json', undefined)).toThrow('OIDC_PROVIDERS: is not JSON');
    expect(load([{ ...corp, issuer: 'http://sso.example.com' }])).toThrow(/0\.issuer: issuer: must be an https URL/);
    expect(load([{ ...corp, name: 'password' }])).toThrow(/0\.name: password names the password sign-in/);
    expect(load([{ ...corp, name: 'Corp SSO' }])).toThrow(/0\.name/);
    expect(load([corp, corp])).toThrow(/provider names must differ/);
    expect(load([{ ...corp, clientSecret: '' }])).toThrow(/0\.clientSecret/);
    // A workspace-wide grant is workspace admin; read or write names a repository.
    expect(load([{ ...corp, groupRoles: [{ group: 'g', workspace: 'acme', role: 'read' }] }])).toThrow(/0\.groupRoles\.0: a workspace-wide grant is workspace admin/);
    // Plain http only on loopback (a provider on the same host).
    expect(loadOidcProviders(JSON.stringify([{ ...corp, issuer: 'http://127.0.0.1:5556' }]), undefined)).toHaveLength(1);
  });

  it('lands only on a path of this registry after sign-in (never an open redirect)', () => {
    expect(safeReturnTo('/w/acme?tab=1')).toBe('/w/acme?tab=1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', '', '/a b']) expect(safeReturnTo(bad)).toBe('/');
  });
});
