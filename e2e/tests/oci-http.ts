import { createHash, randomBytes } from 'node:crypto';

/** Plain OCI distribution calls for tests that need exact manifests (indexes, attestations) or many quick pushes. */
export class OciHttp {
  constructor(
    private readonly gatewayUrl: string,
    private readonly authorization: string,
  ) {}

  /** Monolithic blob upload (POST ?digest=); returns its descriptor. */
  async pushBlob(repository: string, bytes: Buffer, mediaType: string): Promise<{ mediaType: string; digest: string; size: number }> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const response = await fetch(`${this.gatewayUrl}/v2/${repository}/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: { Authorization: this.authorization, 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
      body: bytes,
    });
    if (response.status !== 201) throw new Error(`blob upload to ${repository}: ${response.status} ${await response.text()}`);
    return { mediaType, digest, size: bytes.length };
  }

  async pushManifest(repository: string, reference: string, document: { mediaType: string }): Promise<{ mediaType: string; digest: string; size: number }> {
    const content = Buffer.from(JSON.stringify(document));
    const response = await fetch(`${this.gatewayUrl}/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { Authorization: this.authorization, 'Content-Type': document.mediaType },
      body: content,
    });
    if (response.status !== 201) throw new Error(`manifest PUT ${repository}:${reference}: ${response.status} ${await response.text()}`);
    return { mediaType: document.mediaType, digest: response.headers.get('docker-content-digest') ?? '', size: content.length };
  }

  /** A small single-platform image: a config naming the platform and created time, one random layer. */
  async pushImage(repository: string, tag: string, platform = { os: 'linux', architecture: 'amd64' }, created = new Date().toISOString()) {
    const config = await this.pushBlob(repository, Buffer.from(JSON.stringify({ ...platform, created, rootfs: { type: 'layers', diff_ids: [] } })), 'application/vnd.oci.image.config.v1+json');
    const layer = await this.pushBlob(repository, randomBytes(2048), 'application/vnd.oci.image.layer.v1.tar+gzip');
    const document = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] };
    const manifest = await this.pushManifest(repository, tag, document);
    return { manifest, config, layer, document };
  }

  /** Cross-repository mount of a blob (POST ?mount=&from=). */
  async mountBlob(from: string, to: string, digest: string): Promise<void> {
    const response = await fetch(`${this.gatewayUrl}/v2/${to}/blobs/uploads/?mount=${digest}&from=${from}`, { method: 'POST', headers: { Authorization: this.authorization } });
    if (response.status !== 201) throw new Error(`mount ${digest} into ${to}: ${response.status} ${await response.text()}`);
  }

  async deleteManifest(repository: string, reference: string): Promise<void> {
    const response = await fetch(`${this.gatewayUrl}/v2/${repository}/manifests/${reference}`, { method: 'DELETE', headers: { Authorization: this.authorization } });
    if (response.status !== 202) throw new Error(`DELETE ${repository}:${reference}: ${response.status} ${await response.text()}`);
  }

  async getJson<T>(path: string): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.gatewayUrl}${path}`, { headers: { Authorization: this.authorization } });
    return { status: response.status, body: (await response.json()) as T };
  }
}
