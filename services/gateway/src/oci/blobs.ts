import { pipeline } from 'node:stream/promises';
import { unaryCall } from '@ocireg/grpc';
import { parseDigest } from '@ocireg/oci';
import type { metadata } from '@ocireg/proto';
import type { BlobStore } from '@ocireg/storage';
import type { AccessGuard } from '../access-guard';
import type { BlobStats } from './blob-stats';
import { UNARY_DEADLINE_MS, type Exchange } from './exchange';
import { registryOrigin } from './registry-origin';
import { parseRange } from './ranges';

export interface BlobRoutesDeps {
  guard: AccessGuard;
  metadata: metadata.RegistryMetadataServiceClient;
  store: BlobStore;
  stats: BlobStats;
  /** Seconds a presigned URL lives when pulls are redirected to the store (undefined: pulls stream through the gateway). */
  redirectSeconds?: number;
}

/** GET, HEAD and DELETE of /v2/<name>/blobs/<digest>. */
export class BlobRoutes {
  constructor(private readonly deps: BlobRoutesDeps) {}

  /** A blob streamed whole or by Range, or (when configured and the store can) a redirect to a presigned URL. */
  async get({ req, res, requestId }: Exchange, name: string, digest: string): Promise<void> {
    parseDigest(digest);
    await this.deps.guard.authorize(req, name, ['pull']);
    const blob = await this.deps.stats.stat(name, digest, requestId);
    const { store, redirectSeconds } = this.deps;
    if (redirectSeconds && store.presignedReadUrl && req.method === 'GET' && blob.size > 0) {
      const location = await store.presignedReadUrl(blob.storageKey, redirectSeconds);
      res.writeHead(307, { Location: location, 'Docker-Content-Digest': digest, 'Content-Length': 0 }).end();
      return;
    }

    const range = parseRange(req.headers.range, blob.size);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest, 'Accept-Ranges': 'bytes', ETag: `"${digest}"` };
    if (range) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${blob.size}`;
      headers['Content-Length'] = range.end - range.start + 1;
    } else {
      headers['Content-Length'] = blob.size;
    }
    if (req.method === 'HEAD' || blob.size === 0) {
      res.writeHead(range ? 206 : 200, headers).end();
      return;
    }
    const byteRange = range ? { offset: range.start, length: range.end - range.start + 1 } : undefined;
    if (store.sendTo) {
      // Through a few reused buffers: a pull allocates nothing per chunk.
      await store.sendTo(blob.storageKey, byteRange, res, () => res.writeHead(range ? 206 : 200, headers));
      res.end();
      return;
    }
    const body = await store.read(blob.storageKey, byteRange);
    res.writeHead(range ? 206 : 200, headers);
    await pipeline(body, res);
  }

  async delete({ req, res, requestId }: Exchange, name: string, digest: string): Promise<void> {
    parseDigest(digest);
    const actor = await this.deps.guard.authorize(req, name, ['delete-manifest']);
    await unaryCall(this.deps.metadata.unlinkBlob.bind(this.deps.metadata), { name: name, digest }, { requestId, origin: registryOrigin(this.deps.guard, req, actor), deadlineMs: UNARY_DEADLINE_MS });
    this.deps.stats.forget(name, digest);
    res.writeHead(202, { 'Content-Length': 0 }).end();
  }
}
