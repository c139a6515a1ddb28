import { unaryCall } from '@ocireg/grpc';
import type { blobupload, metadata } from '@ocireg/proto';
import { parseUploadState, type BlobStore } from '@ocireg/storage';
import { AppendLease } from '../append-lease';
import { UNARY_DEADLINE_MS } from '../exchange';

export interface CacheWriterDeps {
  uploads: blobupload.BlobUploadServiceClient;
  metadata: metadata.RegistryMetadataServiceClient;
  store: BlobStore;
}

/**
 * Writes a blob fetched from an upstream the way a push writes one: an
 * upload session of blob-upload (its size and time limits, one writer), the
 * bytes streamed into storage, then verified, and linked as a pull-through
 * fill for the user it is fetched for (metadata creates the cache package and
 * applies the quota). `append` takes the bytes; the caller checks the digest
 * and then calls `complete` or `cancel`.
 */
export class CacheWriter {
  constructor(private readonly deps: CacheWriterDeps) {}

  async open(name: string, owner: string, requestId: string): Promise<CacheUpload> {
    const { uploadId } = await unaryCall(this.deps.uploads.startUpload.bind(this.deps.uploads), { name, owner }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    return new CacheUpload(this.deps, name, owner, uploadId, requestId);
  }
}

export class CacheUpload {
  constructor(
    private readonly deps: CacheWriterDeps,
    private readonly name: string,
    private readonly owner: string,
    private readonly uploadId: string,
    private readonly requestId: string,
  ) {}

  /** Streams every chunk into storage under the session's write lease; returns the size. */
  async append(chunks: AsyncIterable<Buffer>): Promise<number> {
    const { uploads, store } = this.deps;
    const { uploadId, requestId } = this;
    const askedAt = Date.now();
    const plan = await unaryCall(uploads.beginAppend.bind(uploads), { uploadId, name: this.name, owner: this.owner, expectedOffset: 0 }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    const lease = new AppendLease({
      uploadId,
      askedAt,
      leaseMs: plan.leaseMs || plan.deadlineMs - askedAt,
      deadlineMs: plan.deadlineMs,
      renew: async (timeoutMs) => {
        const renewed = await unaryCall(uploads.renewAppend.bind(uploads), { uploadId, leaseId: plan.leaseId }, { requestId, deadlineMs: timeoutMs });
        return renewed.held ? renewed.leaseMs : undefined;
      },
    });
    try {
      const state = parseUploadState(plan.stateJson);
      if (!state) throw new Error(`blob-upload sent no upload state for ${uploadId}`);
      const appended = await store.appendUpload(state, chunks, { maxSize: plan.maxSize, signal: lease.signal });
      const { size } = await unaryCall(uploads.commitAppend.bind(uploads), { uploadId, leaseId: plan.leaseId, stateJson: JSON.stringify(appended.state) }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
      for (const key of appended.obsolete) await store.delete(key).catch(() => undefined);
      return size;
    } finally {
      lease.stop();
    }
  }

  /** The verified bytes become a blob of the name (the caller computed `digest` over all `size` of them). */
  async complete(digest: string, size: number): Promise<void> {
    const { uploads, metadata, store } = this.deps;
    const { uploadId, requestId, name, owner } = this;
    const completed = await unaryCall(uploads.completeUpload.bind(uploads), { uploadId, name, owner, digest, computedDigest: digest, computedDigestSize: size }, { requestId, deadlineMs: 5 * 60_000 });
    let linked;
    try {
      linked = await unaryCall(
        metadata.linkBlob.bind(metadata),
        { name, blob: { digest: completed.digest, size: completed.size, storageKey: completed.storageKey }, userId: owner, pullThrough: true },
        { requestId, deadlineMs: UNARY_DEADLINE_MS },
      );
    } catch (err) {
      await store.delete(store.contentAddressed ? completed.sealedKey : completed.storageKey).catch(() => undefined);
      throw err;
    }
    if (linked.alreadyExisted && linked.blob?.storageKey !== completed.storageKey) await store.delete(completed.storageKey);
    await store.confirmPlaced(completed.sealedKey, completed.digest);
  }

  async cancel(): Promise<void> {
    const { uploads } = this.deps;
    await unaryCall(uploads.cancelUpload.bind(uploads), { uploadId: this.uploadId, name: this.name, owner: this.owner }, { requestId: this.requestId }).catch(() => undefined);
  }
}
