import { createHash, randomBytes } from 'node:crypto';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/**
 * Images for the --demo workspace to look at in the web UI, pushed through the
 * registry's own OCI API with the demo user's token: examples/web with three
 * tags (1.1 and latest a two-platform index) and tools/cli. Skipped when
 * examples/web already has its tags (a restart).
 */
export async function pushDemoImages(gatewayUrl: string, workspace: string, email: string, token: string): Promise<void> {
  const authorization = `Basic ${Buffer.from(`${email}:${token}`).toString('base64')}`;
  const call = async (method: string, path: string, body?: Buffer, contentType?: string): Promise<Response> =>
    fetch(`${gatewayUrl}/v2/${path}`, { method, headers: { Authorization: authorization, ...(contentType ? { 'Content-Type': contentType } : {}) }, body });
  const web = `${workspace}/examples/web`;
  const existing = await call('GET', `${web}/tags/list`);
  if (existing.ok && ((await existing.json()) as { tags?: string[] }).tags?.includes('latest')) return;

  const blob = async (repository: string, bytes: Buffer, mediaType: string): Promise<Descriptor> => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const response = await call('POST', `${repository}/blobs/uploads/?digest=${digest}`, bytes, 'application/octet-stream');
    if (response.status !== 201) throw new Error(`demo blob upload to ${repository}: HTTP ${response.status}`);
    return { mediaType, digest, size: bytes.length };
  };
  const manifest = async (repository: string, reference: string, document: object, mediaType: string): Promise<Descriptor> => {
    const bytes = Buffer.from(JSON.stringify(document));
    const response = await call('PUT', `${repository}/manifests/${reference}`, bytes, mediaType);
    if (response.status !== 201) throw new Error(`demo manifest ${repository}:${reference}: HTTP ${response.status}`);
    return { mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length };
  };
  const image = async (repository: string, reference: string, platform: { os: string; architecture: string }, config: Record<string, unknown>) => {
    const created = new Date().toISOString();
    const configBlob = await blob(repository, Buffer.from(JSON.stringify({ ...platform, created, config, rootfs: { type: 'layers', diff_ids: [] }, history: [{ created, created_by: 'ocireg quick start --demo' }] })), 'application/vnd.oci.image.config.v1+json');
    const layer = await blob(repository, randomBytes(48 * 1024), 'application/vnd.oci.image.layer.v1.tar+gzip');
    return manifest(repository, reference, { schemaVersion: 2, mediaType: MANIFEST, config: configBlob, layers: [layer] }, MANIFEST);
  };

  const webConfig = { Entrypoint: ['/usr/bin/web'], Cmd: ['--port', '8080'], ExposedPorts: { '8080/tcp': {} }, WorkingDir: '/srv', Labels: { 'org.opencontainers.image.title': 'example web server', 'org.opencontainers.image.source': 'https://example.com/web' } };
  await image(web, '1.0', { os: 'linux', architecture: 'amd64' }, webConfig);
  const amd64 = await image(web, 'sha256-amd64-1.1', { os: 'linux', architecture: 'amd64' }, webConfig);
  const arm64 = await image(web, 'sha256-arm64-1.1', { os: 'linux', architecture: 'arm64' }, webConfig);
  // Only the index is tagged: drop the helper tags the two entries were pushed under.
  await call('DELETE', `${web}/manifests/sha256-amd64-1.1`);
  await call('DELETE', `${web}/manifests/sha256-arm64-1.1`);
  const index = { schemaVersion: 2, mediaType: INDEX, manifests: [{ ...amd64, platform: { os: 'linux', architecture: 'amd64' } }, { ...arm64, platform: { os: 'linux', architecture: 'arm64' } }] };
  await manifest(web, '1.1', index, INDEX);
  await manifest(web, 'latest', index, INDEX);
  await image(`${workspace}/tools/cli`, '0.1', { os: 'linux', architecture: 'amd64' }, { Entrypoint: ['/usr/bin/cli'], Labels: { 'org.opencontainers.image.title': 'example command-line tool' } });
}
