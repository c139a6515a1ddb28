import type { Readable, Writable } from 'node:stream';
import { RegistryError } from '@ocireg/errors';

export interface ObjectStat {
  size: number;
}

export interface StoredObject {
  key: string;
  size: number;
  modified: Date;
}

/** Storage an upload left behind: an object, or something of the backend's own (an unfinished multipart upload of `key`, uncommitted blocks). */
export interface StaleUpload {
  key: string;
  /** The backend's handle on what is not an object (S3: the multipart upload's id). */
  multipartId?: string;
  size: number;
  started: Date;
}

/**
 * Where an upload's bytes are so far: JSON, kept in the upload session
 * between requests and handed to whichever process appends next. Callers
 * read only these fields; the rest is the backend's own business, in a
 * shape of its own that it versions (see upload-state.ts).
 */
export interface UploadState {
  /** The backend that wrote it, the only one that can continue it ("fs", "s3", "azure", "gcs"). */
  readonly backend: string;
  /** The version of that backend's shape; states written before versions are version 1. */
  readonly version: number;
  /** The object the upload becomes: the same through every append of one upload. */
  readonly key: string;
  /** Bytes committed. */
  readonly size: number;
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
  /** What uploads left behind that started before `olderThan` (older than any session may live): files, parts, tails, unfinished multipart uploads or blocks. */
  staleUploads(olderThan: Date): Promise<StaleUpload[]>;
  removeStaleUpload(upload: StaleUpload): Promise<void>;
  /** A URL that reads the object (by Range too) for `seconds` without credentials, for stores clients can reach; absent where the store cannot sign one. */
  presignedReadUrl?(key: string, seconds: number): Promise<string>;
}

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

/** A key that cannot safely name an object: a path below a root, or a URL path (which would drop "." and ".." segments). */
export class InvalidStorageKeyError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`invalid storage key ${JSON.stringify(key)}: ${problem}`);
    this.name = 'InvalidStorageKeyError';
  }
}

/** The segments of a key every store can keep as it is; throws InvalidStorageKeyError for one that could name another object. */
export function keySegments(key: string): string[] {
  const reject = (problem: string): never => {
    throw new InvalidStorageKeyError(key, problem);
  };
  if (key.length === 0) reject('it is empty');
  if (key.includes('\0')) reject('it contains a NUL character');
  if (key.includes('\\')) reject('it contains a backslash');
  if (key.startsWith('/')) reject('it is absolute');
  const segments = key.split('/');
  if (segments.includes('')) reject('it has an empty segment');
  if (segments.some((segment) => segment === '.' || segment === '..')) reject('it has a "." or ".." segment');
  return segments;
}

/** Objects under uploads/ last written before `olderThan`: what abandoned uploads left as objects (files, tails, parts). */
export async function staleObjects(store: Pick<BlobStore, 'list'>, olderThan: Date): Promise<StaleUpload[]> {
  const stale: StaleUpload[] = [];
  for await (const object of store.list('uploads/')) if (object.modified < olderThan) stale.push({ key: object.key, size: object.size, started: object.modified });
  return stale;
}
