import { describe, expect, it } from 'vitest';
import { matchOciRoute } from './routes';

describe('matchOciRoute', () => {
  it.each([
    ['/v2/', { kind: 'base' }],
    ['/v2', { kind: 'base' }],
    ['/v2/acme/app/blobs/uploads/', { kind: 'uploads', name: 'acme/app' }],
    ['/v2/acme/team/app/blobs/uploads/3f2a', { kind: 'upload', name: 'acme/team/app', uploadId: '3f2a' }],
    ['/v2/acme/app/blobs/sha256:abc', { kind: 'blob', name: 'acme/app', digest: 'sha256:abc' }],
    ['/v2/acme/app/manifests/latest', { kind: 'manifest', name: 'acme/app', reference: 'latest' }],
    ['/v2/acme/manifests/manifests/v1', { kind: 'manifest', name: 'acme/manifests', reference: 'v1' }],
    ['/v2/acme/app/tags/list', { kind: 'tags', name: 'acme/app' }],
    ['/v2/acme/app/referrers/sha256:abc', { kind: 'referrers', name: 'acme/app', digest: 'sha256:abc' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    ['/v2/token', { kind: 'token' }],
  ])('%s', (path, expected) => {
    expect(matchOciRoute(path)).toEqual(expected);
  });

  it('does not match other paths', () => {
    expect(matchOciRoute('/v3/')).toBeUndefined();
    expect(matchOciRoute('/v2/acme/app/other')).toBeUndefined();
  });
});
