import type { Readable, Writable } from 'node:stream';
import { isRegistryError, RegistryError } from '@ocireg/errors';
import { InvalidStorageKeyError, type AppendOptions, type AppendResult, type BlobStore, type ByteRange, type ObjectStat, type StaleUpload, type StoredObject, type UploadState } from './blob-store';

/** Filesystem and S3 answers that mean "no room left". */
const FULL = new Set(['ENOSPC', 'EDQUOT', 'XMinioStorageFull', 'EntityTooLarge']);

/**
 * What a client is told when the store fails: UNAVAILABLE (503, retry later),
 * never a bare 500. A store that is down, slow, full or refusing the
 * registry's credentials is the operator's to fix, and all a client can do is
 * retry. The store's own error stays as `cause`, for the logs only. Errors
 * that already say what happened (a missing object, a range, the size limit)
 * and caller bugs (a bad key, a bad range) pass through unchanged.
 */
export function storageFailure(err: unknown): unknown {
  if (isRegistryError(err) || err instanceof InvalidStorageKeyError || err instanceof RangeError) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const full = typeof code === 'string' && FULL.has(code);
  const failure = new RegistryError('UNAVAILABLE', full ? 'blob storage is full' : 'blob storage is unavailable');
  failure.cause = err;
  return failure;
}

async function guarded<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    throw storageFailure(err);
  }
}

/** A BlobStore whose failures reach callers as storageFailure says. */
export class FailureMappingBlobStore implements BlobStore {
  readonly contentAddressed: boolean;
  readonly presignedReadUrl?: (key: string, seconds: number) => Promise<string>;
  readonly sendTo?: (key: string, range: ByteRange | undefined, destination: Writable, begin: () => void) => Promise<void>;

  constructor(readonly store: BlobStore) {
    this.contentAddressed = store.contentAddressed;
    const presign = store.presignedReadUrl?.bind(store);
    if (presign) this.presignedReadUrl = (key, seconds) => guarded(presign(key, seconds));
    const send = store.sendTo?.bind(store);
    if (send) this.sendTo = (key, range, destination, begin) => guarded(send(key, range, destination, begin));
  }

  createUpload(uploadId: string): Promise<UploadState> {
    return guarded(this.store.createUpload(uploadId));
  }

  appendUpload(state: UploadState, chunks: AsyncIterable<Buffer>, options: AppendOptions): Promise<AppendResult> {
    return guarded(this.store.appendUpload(state, chunks, options));
  }

  sealUpload(state: UploadState): Promise<string> {
    return guarded(this.store.sealUpload(state));
  }

  placeBlob(sealedKey: string, digest: string): Promise<string> {
    return guarded(this.store.placeBlob(sealedKey, digest));
  }

  confirmPlaced(sealedKey: string, digest: string): Promise<void> {
    return guarded(this.store.confirmPlaced(sealedKey, digest));
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    try {
      yield* this.store.list(prefix);
    } catch (err) {
      throw storageFailure(err);
    }
  }

  staleUploads(olderThan: Date): Promise<StaleUpload[]> {
    return guarded(this.store.staleUploads(olderThan));
  }

  removeStaleUpload(upload: StaleUpload): Promise<void> {
    return guarded(this.store.removeStaleUpload(upload));
  }

  abortUpload(state: UploadState): Promise<void> {
    return guarded(this.store.abortUpload(state));
  }

  put(key: string, data: Buffer): Promise<void> {
    return guarded(this.store.put(key, data));
  }

  read(key: string, range?: ByteRange): Promise<Readable> {
    return guarded(this.store.read(key, range));
  }

  stat(key: string): Promise<ObjectStat | undefined> {
    return guarded(this.store.stat(key));
  }

  delete(key: string): Promise<void> {
    return guarded(this.store.delete(key));
  }
}
