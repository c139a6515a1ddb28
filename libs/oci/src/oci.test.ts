import { describe, expect, it } from 'vitest';
import { isTag, parseDigest, parseRepositoryName, parseTag } from './index';

describe('OCI grammar', () => {
  it.each([
    ['acme/app', 'acme', 'app'],
    ['acme/tools/api-server', 'acme', 'tools/api-server'],
    ['a0/b__c/d.e', 'a0', 'b__c/d.e'],
  ])('accepts repository name %s', (name, workspace, image) => {
    expect(parseRepositoryName(name)).toEqual({ value: name, workspace, image });
  });

  it.each(['app', 'Acme/app', 'acme//app', 'acme/app/', '../etc/passwd', 'acme/-app', 'acme/app_', `acme/${'a'.repeat(300)}`])(
    'refuses repository name %s with NAME_INVALID',
    (name) => {
      expect(() => parseRepositoryName(name)).toThrowError(expect.objectContaining({ code: 'NAME_INVALID' }));
    },
  );

  it('accepts sha256 and sha512 digests and refuses others', () => {
    expect(parseDigest(`sha256:${'a'.repeat(64)}`).algorithm).toBe('sha256');
    expect(parseDigest(`sha512:${'b'.repeat(128)}`).algorithm).toBe('sha512');
    for (const bad of ['sha256:xyz', `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, 'sha256', `sha256:${'a'.repeat(64)}/../x`]) {
      expect(() => parseDigest(bad)).toThrowError(expect.objectContaining({ code: 'DIGEST_INVALID' }));
    }
  });

  it('follows the tag grammar', () => {
    expect(parseTag('v1.2.3_rc-1')).toBe('v1.2.3_rc-1');
    expect(() => parseTag('.hidden')).toThrow();
    expect(() => parseTag('a'.repeat(129))).toThrow();
    expect([isTag('v1'), isTag('a'.repeat(128)), isTag('.INVALID_MANIFEST_NAME'), isTag('sha256:abc'), isTag('')]).toEqual([true, true, false, false, false]);
  });
});
