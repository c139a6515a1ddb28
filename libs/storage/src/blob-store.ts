import type { Readable } from 'node:stream';

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
  /** Streams an object, or `length` bytes of it from `offset`. */
  read(key: string, range?: { offset: number; length?: number }): Promise<Readable>;
  /** Size of an object, or undefined when it does not exist. */
  stat(key: string): Promise<ObjectStat | undefined>;
  /** Deletes an object; deleting a missing one is not an error. */
  delete(key: string): Promise<void>;
}

/** S3's lower bound for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's upper bound on the number of parts in one upload. */
export const MAX_PARTS = 10_000;
