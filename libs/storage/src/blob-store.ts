import type { Readable } from 'node:stream';
import { RegistryError } from '@ocireg/errors';

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

export interface ObjectStat {
  size: number;
}

/**
 * Object storage as the registry needs it. Every backend passes the same
 * contract suite (see contract.ts).
 */
export interface BlobStore {
  /** Starts a multipart upload at `key`; returns the backend's upload id. */
  startMultipart(key: string): Promise<string>;
  /** Stores one part; every part but the last must be at least MIN_PART_SIZE. */
  putPart(key: string, uploadId: string, partNumber: number, data: Buffer): Promise<UploadedPart>;
  completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /** Writes a small object whole. */
  put(key: string, data: Buffer): Promise<void>;
  /**
   * Streams an object, or `length` bytes of it from `offset` (fewer when the
   * object ends first). Rejects with ObjectNotFoundError for a missing object
   * and RANGE_INVALID when `offset` is at or past its end.
   */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Size of an object, or undefined when it does not exist. */
  stat(key: string): Promise<ObjectStat | undefined>;
  /** Deletes an object; deleting a missing one is not an error. */
  delete(key: string): Promise<void>;
}

/** S3's lower bound for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's upper bound on the number of parts in one upload. */
export const MAX_PARTS = 10_000;

export interface ByteRange {
  offset: number;
  length?: number;
}

/** No object at the key; a RegistryError so the gateway answers 404 BLOB_UNKNOWN, not 500. */
export class ObjectNotFoundError extends RegistryError {
  constructor(readonly key: string) {
    super('BLOB_UNKNOWN');
    this.name = 'ObjectNotFoundError';
  }
}

export function rangeNotSatisfiable(): RegistryError {
  return new RegistryError('RANGE_INVALID', undefined, undefined, 416);
}

/** Caller bugs, not client errors: a range must start at 0 or later and ask for at least one byte. */
export function assertValidRange(range: ByteRange): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`range offset must be a non-negative integer, not ${offset}`);
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 1)) throw new RangeError(`range length must be a positive integer, not ${length}`);
}
