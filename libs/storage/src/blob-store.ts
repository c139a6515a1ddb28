import type { Readable, Writable } from 'node:stream';
import { RegistryError } from '@ocireg/errors';

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

export interface ObjectStat {
  size: number;
}

export interface StoredObject {
  key: string;
  size: number;
  modified: Date;
}

/** Storage an upload left behind: an object, or (S3) an unfinished multipart upload of `key`. */
export interface StaleUpload {
  key: string;
  multipartId?: string;
  size: number;
  started: Date;
}

/**
 * Where an upload's bytes are so far: JSON, kept in the upload session
 * between requests (it is the backend's own business what is in it).
 */
export type UploadState = FsUploadState | S3UploadState;

/** One file written sequentially (embedded mode). */
export interface FsUploadState {
  backend: 'fs';
  /** The upload file's key. */
  key: string;
  /** Bytes committed: anything after them in the file is a failed append's and is cut off. */
  size: number;
}

/** A multipart upload, plus a tail smaller than S3's minimum part waiting for more bytes. */
export interface S3UploadState {
  backend: 's3';
  /** The key the multipart upload completes into. */
  key: string;
  multipartId: string;
  parts: UploadedPart[];
  tail: { key: string; size: number } | null;
  size: number;
}

export interface AppendOptions {
  /** Refuse (SIZE_INVALID / 413) once the upload would grow past this many bytes. */
  maxSize: number;
  /** Sees every chunk in order as it is written (the caller hashes). */
  onChunk?: (chunk: Buffer) => void;
  /**
   * Once aborted (its writer lost the session's lease), the append writes
   * nothing more and rejects with the signal's reason; what is already on
   * its way to storage still lands, and is not committed.
   */
  signal?: AbortSignal;
}

export interface AppendResult {
  state: UploadState;
  /** Objects the new state no longer needs; delete them once the state is committed. */
  obsolete: string[];
}

/**
 * Object storage as the registry needs it: objects (put, read, stat, delete)
 * and uploads, whose bytes stream in once (appendUpload, from the gateway,
 * straight from the client's request) and become a blob (seal, then place).
 * Every backend passes the same contract suite (see contract.ts).
 */
export interface BlobStore {
  /** Blobs are kept one per digest, so a blob's key may be shared by uploads of the same bytes. */
  readonly contentAddressed: boolean;
  /** Starts an upload's storage. */
  createUpload(uploadId: string): Promise<UploadState>;
  /**
   * Streams `chunks` after the committed bytes of `state`, with backpressure
   * and bounded memory. The result is not committed: a failed or abandoned
   * append leaves `state` usable as it was.
   */
  appendUpload(state: UploadState, chunks: AsyncIterable<Buffer>, options: AppendOptions): Promise<AppendResult>;
  /** Makes the committed bytes durable and readable as one object; returns its key. */
  sealUpload(state: UploadState): Promise<string>;
  /**
   * Gives verified sealed bytes their place as the blob of `digest`; returns
   * the blob's key. Content-addressed stores keep one copy per digest (a
   * duplicate costs nothing) and keep the sealed upload too, until
   * confirmPlaced; the others use the sealed key as the blob's.
   */
  placeBlob(sealedKey: string, digest: string): Promise<string>;
  /**
   * Called once metadata names the placed blob: makes sure its bytes are in
   * place (a collector may have freed a content-addressed blob of the same
   * digest between placement and the metadata row that revived it), then
   * frees the sealed upload. Nothing to do where sealed keys are the blobs'.
   */
  confirmPlaced(sealedKey: string, digest: string): Promise<void>;
  /** Frees everything an upload holds (sealed bytes too). */
  abortUpload(state: UploadState): Promise<void>;
  /** Writes a small object whole. */
  put(key: string, data: Buffer): Promise<void>;
  /**
   * Streams an object, or `length` bytes of it from `offset` (fewer when the
   * object ends first). Rejects with ObjectNotFoundError for a missing object
   * and RANGE_INVALID when `offset` is at or past its end.
   */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * Writes an object, or `range` of it as read() would, into `destination`
   * through a few reused buffers (see WriteBuffers): a pull that allocates
   * nothing per chunk. Checks as read() does, then calls `begin` (write the
   * response head there) before the first byte; resolves once every byte is
   * written; does not end `destination`. Optional: callers read() otherwise.
   */
  sendTo?(key: string, range: ByteRange | undefined, destination: Writable, begin: () => void): Promise<void>;
  /** Size of an object, or undefined when it does not exist. */
  stat(key: string): Promise<ObjectStat | undefined>;
  /** Deletes an object; deleting a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix` ("blobs/", "uploads/"), for the orphan sweep. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** What uploads left behind that started before `olderThan` (older than any session may live): files, tails, unfinished multipart uploads. */
  staleUploads(olderThan: Date): Promise<StaleUpload[]>;
  removeStaleUpload(upload: StaleUpload): Promise<void>;
  /** A URL that reads the object for `seconds` without credentials (stores clients can reach: S3); undefined when the store has none. */
  presignedReadUrl?(key: string, seconds: number): Promise<string>;
}

/** S3's lower bound for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's upper bound on the number of parts in one upload. */
export const MAX_PARTS = 10_000;

/** The parts an upload appends at once to S3 by default: memory is at most (in flight + 1) x part size. */
export const DEFAULT_PARTS_IN_FLIGHT = 3;
/**
 * S3's minimum, which keeps a 32 GiB layer within 10,000 parts (6,554) and
 * an upload's buffers at 20 MiB: 8 MiB parts moved no faster on MinIO and
 * held the gateway's peak RSS during a 4 GiB push 17 MiB higher.
 */
export const DEFAULT_PART_SIZE = MIN_PART_SIZE;

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

/** The upload grew past its size limit. */
export function tooLarge(maxSize: number): RegistryError {
  return new RegistryError('SIZE_INVALID', `blob exceeds the size limit of ${maxSize} bytes`, { limit: maxSize }, 413);
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
