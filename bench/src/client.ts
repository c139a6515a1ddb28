import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const CHUNK = 1024 * 1024;
// One random MiB, reused with a per-chunk counter so every blob is unique without generating GiBs of randomness.
const NOISE = randomBytes(CHUNK);

function chunkOf(seed: string, index: number): Buffer {
  const chunk = Buffer.from(NOISE);
  chunk.write(`${seed}:${index}:`, 0, 'utf8');
  return chunk;
}

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
}

let authorization: string | undefined;

/** Credentials for every following request (undefined: none, as for Distribution without auth). */
export function useAuthorization(header: string | undefined): void {
  authorization = header;
}

/** One request; streams `body` chunks with backpressure and counts (discards) the response bytes. */
export function http(method: string, url: string, body?: () => Iterable<Buffer>, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: authorization ? { Authorization: authorization, ...headers } : headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (!body) return void req.end();
    const chunks = body()[Symbol.iterator]();
    const pump = () => {
      for (let next = chunks.next(); !next.done; next = chunks.next()) {
        if (!req.write(next.value)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** Pushes a blob of `sizeMiB` as docker does: POST, one streamed PATCH, PUT ?digest=. Returns its digest. */
export async function pushBlob(base: string, repository: string, seed: string, sizeMiB: number): Promise<string> {
  const started = await http('POST', `${base}/v2/${repository}/blobs/uploads/`);
  if (started.status !== 202) throw new Error(`POST upload: ${started.status}`);
  const location = new URL(String(started.headers.location), base).toString();
  const hash = createHash('sha256');
  const patched = await http('PATCH', location, function* () {
    for (let i = 0; i < sizeMiB; i++) {
      const chunk = chunkOf(seed, i);
      hash.update(chunk);
      yield chunk;
    }
  }, { 'Content-Type': 'application/octet-stream' });
  if (patched.status !== 202) throw new Error(`PATCH upload: ${patched.status}`);
  const digest = `sha256:${hash.digest('hex')}`;
  const next = new URL(String(patched.headers.location), base);
  next.searchParams.set('digest', digest);
  const put = await http('PUT', next.toString());
  if (put.status !== 201) throw new Error(`PUT upload: ${put.status}`);
  return digest;
}

export async function pullBlob(base: string, repository: string, digest: string): Promise<number> {
  const result = await http('GET', `${base}/v2/${repository}/blobs/${digest}`);
  if (result.status !== 200) throw new Error(`GET blob: ${result.status}`);
  return result.bytes;
}

/** Pushes a small image manifest, tagged `bench`, over already pushed layers. */
export async function pushManifest(base: string, repository: string, layers: Array<{ digest: string; size: number }>): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const post = await http('POST', `${base}/v2/${repository}/blobs/uploads/`);
  const location = new URL(String(post.headers.location), base);
  location.searchParams.set('digest', configDigest);
  const put = await http('PUT', location.toString(), function* () {
    yield config;
  }, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(config.length) });
  if (put.status !== 201) throw new Error(`config upload: ${put.status}`);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer })),
  });
  const manifestPut = await http('PUT', `${base}/v2/${repository}/manifests/bench`, function* () {
    yield Buffer.from(manifest);
  }, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
  if (manifestPut.status !== 201) throw new Error(`manifest put: ${manifestPut.status}`);
}
