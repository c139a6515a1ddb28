import { unaryCall, type RequestOrigin } from '@ocireg/grpc';
import { parseUploadState } from '@ocireg/storage';
import { UNARY_DEADLINE_MS } from '../exchange';
import { completeAndLink, takeAppendLease, type UploadCalls } from '../upload-commit';

/**
 * Writes a blob fetched from an upstream the way a push writes one: an
 * upload session of blob-upload (its size and time limits, one writer), the
 * bytes streamed into storage, then verified, and linked as a pull-through
 * fill for the user it is fetched for (metadata creates the cache package and
 * applies the quota). `append` takes the bytes; the caller checks the digest
 * and then calls `complete` or `cancel`.
 */
export class CacheWriter {
  constructor(private readonly deps: UploadCalls) {}

  async open(name: string, owner: string, requestId: string, origin: RequestOrigin): Promise<CacheUpload> {
    const { uploadId } = await unaryCall(this.deps.uploads.startUpload.bind(this.deps.uploads), { name, owner }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    return new CacheUpload(this.deps, name, owner, uploadId, requestId, origin);
  }
}

export class CacheUpload {
  constructor(
    private readonly deps: UploadCalls,
    private readonly name: string,
    private readonly owner: string,
    private readonly uploadId: string,
    private readonly requestId: string,
    private readonly origin: RequestOrigin,
  ) {}

  /** Streams every chunk into storage under the session's write lease; returns the size. */
  async append(chunks: AsyncIterable<Buffer>): Promise<number> {
    const { uploads, store } = this.deps;
    const { uploadId, requestId } = this;
    const { plan, lease } = await takeAppendLease(uploads, { uploadId, name: this.name, owner: this.owner, expectedOffset: 0 }, requestId);
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
  complete(digest: string, size: number): Promise<void> {
    return completeAndLink(this.deps, { uploadId: this.uploadId, name: this.name, owner: this.owner, digest, computedDigest: digest, computedDigestSize: size, pullThrough: true }, { requestId: this.requestId, origin: this.origin });
  }

  async cancel(): Promise<void> {
    const { uploads } = this.deps;
    await unaryCall(uploads.cancelUpload.bind(uploads), { uploadId: this.uploadId, name: this.name, owner: this.owner }, { requestId: this.requestId }).catch(() => undefined);
  }
}
