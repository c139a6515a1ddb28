import { describe, expect, it } from 'vitest';
import { mirrorHostPrefix, mirrorScopes } from './mirror-hosts';

describe('mirror hosts (dockerd registry-mirrors)', () => {
  const hosts = { 'mirror.example.com': 'acme/hub', '127.0.0.2:5000': 'acme/ghcr' };

  it('tells a mirror host from the registry by the Host header, any port when the pair names none', () => {
    expect(mirrorHostPrefix(hosts, 'mirror.example.com')).toBe('acme/hub');
    expect(mirrorHostPrefix(hosts, 'MIRROR.example.com:443')).toBe('acme/hub');
    expect(mirrorHostPrefix(hosts, '127.0.0.2:5000')).toBe('acme/ghcr');
    expect(mirrorHostPrefix(hosts, '127.0.0.2:5001')).toBeUndefined();
    expect(mirrorHostPrefix(hosts, 'registry.example.com')).toBeUndefined();
    expect(mirrorHostPrefix(hosts, 'mirror.example.com.evil.test')).toBeUndefined();
    expect(mirrorHostPrefix(hosts, undefined)).toBeUndefined();
    expect(mirrorHostPrefix({}, 'mirror.example.com')).toBeUndefined();
  });

  it("turns dockerd's scopes into pulls of the mirrored names, and drops everything else", () => {
    expect(mirrorScopes('acme/hub', ['repository:library/alpine:pull'])).toEqual(['repository:acme/hub/library/alpine:pull']);
    expect(mirrorScopes('acme/hub', ['repository:library/alpine:pull,push', 'repository:bitnami/redis:push', 'registry:catalog:*'])).toEqual(['repository:acme/hub/library/alpine:pull']);
    expect(mirrorScopes('acme/hub', ['repository:other-ws/app:delete'])).toEqual([]);
  });
});
