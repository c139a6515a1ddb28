import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '@ocireg/errors';
import { parseDigest } from '@ocireg/oci';
import type { AccessGuard, Actor } from '../../access-guard';
import type { BlobStats } from '../blob-stats';
import type { BlobRoutes } from '../blobs';
import type { Exchange } from '../exchange';
import { registryOrigin } from '../registry-origin';
import type { BlobFills } from './blob-fills';
import type { CacheWriter } from './cache-writer';
import type { ProxyMetrics } from './proxy-metrics';
import { notFetched } from './upstream-client';
import type { ProxyTarget } from './upstream-directory';

export interface ProxyBlobsDeps {
  guard: AccessGuard;
  stats: BlobStats;
  blobs: BlobRoutes;
  fills: BlobFills;
  writer: CacheWriter;
  metrics: ProxyMetrics;
}

/**
 * GET and HEAD of a blob of a name an upstream serves: from the cache when
 * it has it (the ordinary blob route), else through one fill per blob
 * (blob-fills.ts) that every client pulling it at the same time shares.
 */
export class ProxyBlobs {
  constructor(private readonly deps: ProxyBlobsDeps) {}

  async get(exchange: Exchange, name: string, digest: string, target: ProxyTarget): Promise<void> {
    const { req, requestId } = exchange;
    parseDigest(digest);
    const actor = await this.deps.guard.authorize(req, name, ['pull']);
    let size: number;
    try {
      size = (await this.deps.stats.stat(name, digest, requestId)).size;
    } catch (err) {
      if (!(err instanceof RegistryError && err.code === 'BLOB_UNKNOWN')) throw err;
      this.deps.metrics.miss(target.label, 'blob');
      return this.fill(exchange, name, digest, target, actor);
    }
    this.deps.metrics.hit(target.label, 'blob', req.method === 'GET' && !req.headers.range ? size : 0);
    return this.deps.blobs.get(exchange, name, digest);
  }

  private async fill({ req, res, requestId }: Exchange, name: string, digest: string, target: ProxyTarget, actor: Actor): Promise<void> {
    if (!actor.userId) throw new RegistryError('DENIED', `${name}@${digest} is not cached; fetching it from the upstream takes signing in with a user who may pull it`);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest, ETag: `"${digest}"` };
    if (req.method === 'HEAD') {
      const size = await this.deps.metrics.timed(target.label, () => target.client.blobSize(target.repository, digest)).catch((err: unknown) => {
        throw notFetched(err, `blob ${digest}`, 'BLOB_UNKNOWN');
      });
      res.writeHead(200, size === undefined ? headers : { ...headers, 'Content-Length': size }).end();
      return;
    }
    const { writer, metrics } = this.deps;
    const stream = await this.deps.fills
      .join(`${name}@${digest}`, digest, {
        fetch: () => metrics.timed(target.label, () => target.client.blob(target.repository, digest)),
        store: async (chunks) => {
          const upload = await writer.open(name, actor.userId, requestId, registryOrigin(this.deps.guard, req, actor));
          try {
            await upload.append(metrics.counted(target.label, chunks));
          } catch (err) {
            await upload.cancel();
            throw err;
          }
          return upload;
        },
      })
      .catch((err: unknown) => {
        throw notFetched(err, `blob ${digest}`, 'BLOB_UNKNOWN');
      });
    try {
      res.writeHead(200, stream.size === undefined ? headers : { ...headers, 'Content-Length': stream.size });
      await pipeline(Readable.from(stream.chunks), res);
    } finally {
      stream.release();
    }
  }
}
