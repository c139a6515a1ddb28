import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { basicAuth, newWorkspace, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';

/**
 * What /v2 answers for manifests that cannot exist or no longer do, as the
 * OCI conformance suites (the 1.1 release line's and the newest) and CNCF
 * Distribution expect: a reference that is neither a tag nor a digest (such
 * as the suites' `.INVALID_MANIFEST_NAME`) names no manifest, so GET, HEAD and
 * DELETE answer 404 MANIFEST_UNKNOWN, while a PUT to it is refused as bad
 * input; and a package whose content was deleted lists no tags rather than
 * being unknown.
 */
describe('manifest references that name nothing', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let oci: OciHttp;
  let repository: string;

  const v2 = (path: string, init: RequestInit = {}) =>
    fetch(`${registry.gatewayUrl}/v2/${path}`, { ...init, headers: { Authorization: basicAuth(workspace.admin), ...init.headers } });
  const errorCode = async (response: Response) => ((await response.json()) as { errors: Array<{ code: string }> }).errors[0]?.code;

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await newWorkspace(registry, 'refs');
    oci = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    repository = `${workspace.slug}/refs`;
    await oci.pushImage(repository, 'v1');
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
  });

  const impossible = ['.INVALID_MANIFEST_NAME', '-leading-dash', 'a'.repeat(129), 'bad%21tag', 'sha256:zz', `md5:${'a'.repeat(32)}`, `sha256:${'A'.repeat(64)}`];

  it.each(impossible)('GET, HEAD and DELETE of %s answer 404 MANIFEST_UNKNOWN', async (reference) => {
    const get = await v2(`${repository}/manifests/${reference}`);
    expect(get.status).toBe(404);
    expect(await errorCode(get)).toBe('MANIFEST_UNKNOWN');
    const head = await v2(`${repository}/manifests/${reference}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    expect(head.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    const deleted = await v2(`${repository}/manifests/${reference}`, { method: 'DELETE' });
    expect(deleted.status).toBe(404);
    expect(await errorCode(deleted)).toBe('MANIFEST_UNKNOWN');
    // Nothing was deleted along the way.
    expect((await v2(`${repository}/manifests/v1`, { method: 'HEAD' })).status).toBe(200);
  });

  it('refuses a PUT to an invalid tag (MANIFEST_INVALID) or digest (DIGEST_INVALID) with 400 and stores nothing', async () => {
    const { document } = await oci.pushImage(repository, 'source');
    const put = (reference: string) =>
      v2(`${repository}/manifests/${reference}`, { method: 'PUT', headers: { 'Content-Type': document.mediaType }, body: JSON.stringify(document) });
    const invalidTag = await put('.INVALID_MANIFEST_NAME');
    expect(invalidTag.status).toBe(400);
    expect(await errorCode(invalidTag)).toBe('MANIFEST_INVALID');
    const invalidDigest = await put('sha256:zz');
    expect(invalidDigest.status).toBe(400);
    expect(await errorCode(invalidDigest)).toBe('DIGEST_INVALID');
    const tags = await oci.getJson<{ tags: string[] }>(`/v2/${repository}/tags/list`);
    expect(tags.body.tags).toEqual(['source', 'v1']);
  });

  it('still asks for credentials first: an anonymous GET of an impossible reference gets 401', async () => {
    const response = await fetch(`${registry.gatewayUrl}/v2/${repository}/manifests/.INVALID_MANIFEST_NAME`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
  });

  it('lists no tags, with 200, for a package whose manifests were all deleted, and keeps unknown names unknown', async () => {
    const emptied = `${workspace.slug}/emptied`;
    const { manifest } = await oci.pushImage(emptied, 'only');
    await oci.deleteManifest(emptied, manifest.digest);
    const listed = await oci.getJson<{ name: string; tags: string[] }>(`/v2/${emptied}/tags/list`);
    expect(listed).toEqual({ status: 200, body: { name: emptied, tags: [] } });
    const unknown = await v2(`${workspace.slug}/never-pushed/tags/list`);
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('NAME_UNKNOWN');
  });
});
