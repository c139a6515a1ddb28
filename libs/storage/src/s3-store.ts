import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buffer as readAll } from 'node:stream/consumers';
import { Client } from 'minio';
import {
  assertValidRange,
  ObjectNotFoundError,
  rangeNotSatisfiable,
  staleObjects,
  type AppendOptions,
  type AppendResult,
  type BlobStore,
  type ByteRange,
  type ObjectStat,
  type StaleUpload,
  type StoredObject,
  type UploadState,
} from './blob-store';
import { appendInParts, DEFAULT_PART_SIZE, DEFAULT_PARTS_IN_FLIGHT, sealOnce, uploadPrefix, type PartedUploadState } from './parted-append';
import { PartBuffers } from './part-buffers';
import { readObjectDirect, sendObjectDirect, type ObjectRange } from './s3-object-reader';
import { SealedInPlaceStore } from './sealed-in-place';
import { ownUploadState } from './upload-state';

/** S3's lower bound for every part but the last. */
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's upper bound for a part. */
export const S3_MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** S3's upper bound on the number of parts in one upload. */
export const S3_MAX_PARTS = 10_000;

interface UploadedPart {
  partNumber: number;
  etag: string;
}

/**
 * A multipart upload, plus a tail smaller than S3's minimum part waiting for
 * more bytes. Version 1 is also the shape written before states had versions.
 */
export interface S3UploadState extends PartedUploadState<UploadedPart> {
  backend: 's3';
  version: 1;
  /** The multipart upload that completes into `key`. */
  multipartId: string;
}

export interface S3StoreOptions {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
  /** Bytes per multipart part (at least 5 MiB; the largest blob must fit in 10,000 parts): 5 MiB by default. */
  partSize?: number;
  /** Parts one upload sends at once; memory per upload is at most (this + 1) x partSize. */
  partsInFlight?: number;
}

/**
 * BlobStore on S3 or MinIO, through the minio client. Uploads are multipart
 * uploads: parts of `partSize` go out a few at a time while the next fills,
 * and bytes short of S3's minimum part wait as a small tail object for the
 * next append. Payloads are sent unsigned (x-amz-content-sha256:
 * UNSIGNED-PAYLOAD): the registry hashes every byte once itself, and TLS to
 * the store protects the bytes on the wire. S3 has no rename: a blob stays
 * where its upload completed.
 */
export class S3BlobStore extends SealedInPlaceStore implements BlobStore {
  private readonly client: Client;
  private readonly bucket: string;
  private readonly partSize: number;
  private readonly partsInFlight: number;
  /** Reads go over a plain socket (see readObjectDirect) when the store speaks plain HTTP. */
  private readonly directReads: boolean;
  /** Part buffers S3 has taken the bytes of, for the next part of any upload. */
  private readonly partBuffers: PartBuffers;

  constructor(options: S3StoreOptions) {
    super();
    const url = new URL(options.endpoint);
    this.client = new Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      useSSL: url.protocol === 'https:',
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: options.region,
      pathStyle: true,
    });
    // The client hashes every payload (SHA-256) for the signature over plain HTTP; the registry already hashed those bytes.
    (this.client as unknown as { enableSHA256: boolean }).enableSHA256 = false;
    this.bucket = options.bucket;
    this.directReads = url.protocol === 'http:';
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.partsInFlight = options.partsInFlight ?? DEFAULT_PARTS_IN_FLIGHT;
    if (this.partSize < S3_MIN_PART_SIZE) throw new Error(`S3 part size must be at least ${S3_MIN_PART_SIZE} bytes`);
    // One upload's worth: the parts in flight and the one filling.
    this.partBuffers = new PartBuffers(this.partSize, this.partsInFlight + 1);
  }

  async ensureBucket(region: string): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) await this.client.makeBucket(this.bucket, region);
  }

  async createUpload(uploadId: string): Promise<UploadState> {
    const key = `blobs/${uploadId}`;
    const multipartId = await this.client.initiateNewMultipartUpload(this.bucket, key, {});
    const state: S3UploadState = { backend: 's3', version: 1, key, multipartId, parts: [], tail: null, size: 0 };
    return state;
  }

  async appendUpload(state: UploadState, chunks: AsyncIterable<Buffer>, options: AppendOptions): Promise<AppendResult> {
    const upload = s3State(state);
    const { parts, tail, size, obsolete } = await appendInParts(upload, chunks, options, {
      partSize: this.partSize,
      minPartSize: S3_MIN_PART_SIZE,
      partsInFlight: this.partsInFlight,
      buffers: this.partBuffers,
      send: async (bytes, partNumber) => {
        const { etag } = await this.client.uploadPart({ bucketName: this.bucket, objectName: upload.key, uploadID: upload.multipartId, partNumber, headers: {} }, bytes);
        return { partNumber, etag };
      },
      readTail: async (key) => readAll(await this.read(key)),
      putTail: (key, bytes) => this.put(key, bytes),
    });
    const next: S3UploadState = { ...upload, version: 1, parts, tail, size };
    return { state: next, obsolete };
  }

  async sealUpload(state: UploadState): Promise<string> {
    const upload = s3State(state);
    // The multipart, or the tail, gone: perhaps sealed by an earlier attempt.
    const maybeSealed = (err: unknown) => errorCode(err) === 'NoSuchUpload' || err instanceof ObjectNotFoundError;
    await sealOnce(upload.key, upload.size, () => this.completeParts(upload), maybeSealed, (key) => this.stat(key));
    await this.removeUploadObjects(upload);
    return upload.key;
  }

  private async completeParts(upload: S3UploadState): Promise<void> {
    const parts = [...upload.parts];
    if (upload.tail) {
      const tail = await readAll(await this.read(upload.tail.key));
      const { etag } = await this.client.uploadPart({ bucketName: this.bucket, objectName: upload.key, uploadID: upload.multipartId, partNumber: parts.length + 1, headers: {} }, tail);
      parts.push({ partNumber: parts.length + 1, etag });
    }
    if (parts.length === 0) {
      // S3 refuses a multipart upload without parts: an empty blob is a plain object.
      await this.client.abortMultipartUpload(this.bucket, upload.key, upload.multipartId);
      await this.put(upload.key, Buffer.alloc(0));
    } else {
      await this.client.completeMultipartUpload(this.bucket, upload.key, upload.multipartId, parts.map((part) => ({ part: part.partNumber, etag: part.etag })));
    }
  }

  async abortUpload(state: UploadState): Promise<void> {
    const upload = s3State(state);
    await this.client.abortMultipartUpload(this.bucket, upload.key, upload.multipartId).catch((err: unknown) => {
      if (errorCode(err) !== 'NoSuchUpload') throw err;
    });
    await this.removeUploadObjects(upload);
    await this.delete(upload.key); // sealed already, or nothing there
  }

  /** The upload's small objects: its tail, and tails of appends that never committed (a crash between the tail's write and the commit). */
  private async removeUploadObjects(upload: S3UploadState): Promise<void> {
    const keys: string[] = [];
    for await (const item of this.client.listObjectsV2(this.bucket, uploadPrefix(upload.key), true) as AsyncIterable<{ name?: string }>) {
      if (item.name) keys.push(item.name);
    }
    if (keys.length > 0) await this.client.removeObjects(this.bucket, keys);
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.client.putObject(this.bucket, key, data, data.length);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (range) assertValidRange(range);
    if (this.directReads) {
      const direct = await readObjectDirect(new URL(await this.client.presignedGetObject(this.bucket, key, 60)), objectRange(range));
      if (direct) return direct;
      // Not a plain body (a missing object, a bad range, an outage): the client reads it, or says what is wrong.
    }
    try {
      // {offset: 0} alone is the whole object; the client sends no Range header for it either.
      if (!range || (range.offset === 0 && range.length === undefined)) return await this.client.getObject(this.bucket, key);
      return await this.client.getPartialObject(this.bucket, key, range.offset, range.length);
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      if (errorCode(err) === 'InvalidRange') throw rangeNotSatisfiable();
      throw err;
    }
  }

  async sendTo(key: string, range: ByteRange | undefined, destination: Writable, begin: () => void): Promise<void> {
    if (range) assertValidRange(range);
    if (this.directReads && (await sendObjectDirect(new URL(await this.client.presignedGetObject(this.bucket, key, 60)), objectRange(range), destination, begin))) return;
    // Not a plain body (a missing object, a bad range, an outage): the client reads it, or says what is wrong.
    const body = await this.read(key, range);
    begin();
    await pipeline(body, destination, { end: false });
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    try {
      const stat = await this.client.statObject(this.bucket, key);
      return { size: stat.size };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.removeObject(this.bucket, key);
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    for await (const item of this.client.listObjectsV2(this.bucket, prefix, true) as AsyncIterable<{ name?: string; size?: number; lastModified?: Date }>) {
      if (item.name) yield { key: item.name, size: item.size ?? 0, modified: item.lastModified ?? new Date(0) };
    }
  }

  async staleUploads(olderThan: Date): Promise<StaleUpload[]> {
    const stale = await staleObjects(this, olderThan);
    const incomplete = this.client.listIncompleteUploads(this.bucket, '', true) as unknown as AsyncIterable<{ key: string; uploadId: string; initiated: Date; size?: number }>;
    for await (const upload of incomplete) {
      if (upload.initiated < olderThan) stale.push({ key: upload.key, multipartId: upload.uploadId, size: upload.size ?? 0, started: upload.initiated });
    }
    return stale;
  }

  async removeStaleUpload(upload: StaleUpload): Promise<void> {
    if (!upload.multipartId) return this.delete(upload.key);
    await this.client.abortMultipartUpload(this.bucket, upload.key, upload.multipartId).catch((err: unknown) => {
      if (errorCode(err) !== 'NoSuchUpload') throw err;
    });
  }

  presignedReadUrl(key: string, seconds: number): Promise<string> {
    return this.client.presignedGetObject(this.bucket, key, seconds);
  }
}

/** A read's Range (none for the whole object, as {offset: 0} alone is). */
function objectRange(range: ByteRange | undefined): ObjectRange | undefined {
  if (!range || (range.offset === 0 && range.length === undefined)) return undefined;
  return { start: range.offset, end: range.length === undefined ? undefined : range.offset + range.length - 1 };
}

function s3State(state: UploadState): S3UploadState {
  return ownUploadState<S3UploadState>(state, 's3', [1], 'S3');
}

function errorCode(err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code;
}

function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'NotFound' || code === 'NoSuchKey';
}
