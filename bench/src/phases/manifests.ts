import { createHash } from 'node:crypto';
import type { Layer } from '../loadgen';
import { measure } from '../measure';
import type { Target } from '../target';
import type { Phase } from './phase';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const TAG = 'bench';

/** What the clients ask for: one tag (all of them, as a rollout pulls), a tag each, or the digest. */
export type ManifestReference = 'tag' | 'tag per client' | 'digest';

const PHASE_SUFFIX: Record<ManifestReference, string> = { tag: '', 'tag per client': '-tags', digest: '-digest' };

/**
 * HEAD or GET of an image manifest from many keep-alive clients: by tag, as
 * `docker pull` resolves a tag (every client the same tag, or each its own),
 * or by digest, as it then fetches the manifest. The manifest (over `layers`,
 * pushed earlier) is pushed first, untimed.
 */
export function manifestPhase(method: 'HEAD' | 'GET', by: ManifestReference, layers: Layer[]): Phase {
  return {
    id: `manifest-${method.toLowerCase()}${PHASE_SUFFIX[by]}`,
    title: `manifest ${method} by ${by}`,
    storesBytes: 0,
    async run(target, { loadgen, config }) {
      const authorization = await target.authorization();
      const tags = by === 'tag per client' ? Array.from({ length: config.clients }, (_, client) => `${TAG}-${client}`) : [TAG];
      const digest = await pushManifest(target, authorization, layers, tags);
      const reference = by === 'digest' ? digest : by === 'tag' ? TAG : `${TAG}-{client}`;
      const { result, cost } = await measure(target, (onStart) =>
        loadgen.manifests({ url: target.url, authorization }, `/v2/${target.repository}/manifests/${reference}`, { method, digest, clients: config.clients, seconds: config.loadSeconds, warmupSeconds: config.warmupSeconds }, onStart),
      );
      return { figure: { kind: 'requests', requests: result.requests, allRequests: result.allRequests, rps: result.rps, p50Ms: result.p50Ms, p99Ms: result.p99Ms }, cost };
    },
  };
}

/** Pushes a config blob and an image manifest over `layers` under each of `tags`; returns the manifest's digest. */
async function pushManifest(target: Target, authorization: string | undefined, layers: Layer[], tags: string[]): Promise<string> {
  const headers = (extra: Record<string, string>) => ({ ...(authorization ? { Authorization: authorization } : {}), ...extra });
  const call = async (method: string, url: string | URL, status: number, body?: Buffer, contentType?: string) => {
    const res = await fetch(new URL(url, target.url), { method, body, headers: headers(contentType ? { 'Content-Type': contentType } : {}), redirect: 'manual' });
    if (res.status !== status) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res;
  };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) } }));
  const configDigest = sha256(config);
  const started = await call('POST', `/v2/${target.repository}/blobs/uploads/`, 202);
  const upload = new URL(started.headers.get('location')!, target.url);
  upload.searchParams.set('digest', configDigest);
  await call('PUT', upload, 201, config, 'application/octet-stream');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size })),
    }),
  );
  for (const tag of tags) await call('PUT', `/v2/${target.repository}/manifests/${tag}`, 201, manifest, MANIFEST_TYPE);
  return sha256(manifest);
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
