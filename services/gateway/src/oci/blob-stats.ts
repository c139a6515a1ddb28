import { unaryCall } from '@ocireg/grpc';
import type { metadata } from '@ocireg/proto';
import { RegistryError } from '@ocireg/errors';
import type { ContentEpochs } from './content-epochs';
import { UNARY_DEADLINE_MS } from './exchange';

export interface BlobStat {
  size: number;
  storageKey: string;
}

/** How long a blob's presence in a repository is trusted (its bytes never change; removals end it at once, see ContentEpochs). */
const STAT_CACHE_MS = 30_000;
const MAX_ENTRIES = 100_000;

/**
 * Blob stats from metadata (is the blob in this repository, its size and
 * storage key), cached: a blob is immutable per digest, so a pull asks
 * metadata once per repository and digest every 30 seconds, not per request.
 * This gateway's own deletions drop their entries at once, and every
 * replica's when metadata announces a removal in the workspace (ContentEpochs).
 */
export class BlobStats {
  private readonly cache = new Map<string, { stat: BlobStat; until: number; readAt: number }>();

  constructor(
    private readonly metadata: metadata.RegistryMetadataServiceClient,
    private readonly epochs: ContentEpochs,
  ) {}

  async stat(repository: string, digest: string, requestId: string): Promise<BlobStat> {
    const key = `${repository}@${digest}`;
    const cached = this.cache.get(key);
    if (cached && cached.until > Date.now() && this.epochs.fresh(repository, cached.readAt)) return cached.stat;
    const readAt = this.epochs.now();
    const { blob } = await unaryCall(this.metadata.statBlob.bind(this.metadata), { name: repository, digest }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    if (!blob) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest });
    const stat = { size: blob.size, storageKey: blob.storageKey };
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { stat, until: Date.now() + STAT_CACHE_MS, readAt });
    return stat;
  }

  forget(repository: string, digest: string): void {
    this.cache.delete(`${repository}@${digest}`);
  }
}
