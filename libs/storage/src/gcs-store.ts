import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { Storage, type Bucket, type File } from '@google-cloud/storage';
import { assertValidRange, keySegments, staleObjects, ObjectNotFoundError, rangeNotSatisfiable, type AppendOptions, type AppendResult, type BlobStore, type ByteRange, type ObjectStat, type StaleUpload, type StoredObject, type UploadState } from './blob-store';
import { PartBuffers } from './part-buffers';
import { appendInParts, DEFAULT_PART_SIZE, DEFAULT_PARTS_IN_FLIGHT, sealOnce, uploadPrefix, type PartedUploadState } from './parted-append';
import { SealedInPlaceStore } from './sealed-in-place';
import { ownUploadState } from './upload-state';

/** GCS composes at most this many source objects in one call. */
export const GCS_MAX_COMPOSE_SOURCES = 32;

/** Part objects under uploads/<id>/ (their keys, in order; fewer than 32, earlier ones composed into one), and a tail short of a part. */
export interface GcsUploadState extends PartedUploadState<string> {
  backend: 'gcs';
  version: 1;
}

export interface GcsStoreOptions {
  bucket: string;
  /** Another JSON API endpoint than Google's (fake-gcs-server); requests to it are not authenticated. */
  endpoint?: string;
  projectId?: string;
  /** Bytes per part object: 5 MiB by default. */
  partSize?: number;
  partsInFlight?: number;
}

/**
 * BlobStore on Google Cloud Storage, through @google-cloud/storage. An
 * upload's parts are objects of their own (a few written at once while the
 * next fills, as S3 parts are), and sealing composes them into the blob.
 * GCS composes at most 32 objects per call, so once an append leaves 32 or
 * more, it folds them, 32 into one, until fewer remain: the state stays
 * small and the seal is one call, whatever the size (a 32 GiB layer in
 * 5 MiB parts is about 210 compose calls, spread over its appends). Part
 * keys carry a random word per append, so a dead writer's late part never
 * replaces a live one's. Payloads are sent without the SDK's MD5/CRC32C
 * validation: the registry hashes every byte itself.
 */
export class GcsBlobStore extends SealedInPlaceStore implements BlobStore {
  private readonly storage: Storage;
  private readonly bucket: Bucket;
  private readonly partSize: number;
  private readonly partsInFlight: number;
  private readonly partBuffers: PartBuffers;

  constructor(options: GcsStoreOptions) {
    super();
    // Credentials are Application Default Credentials: the key file GOOGLE_APPLICATION_CREDENTIALS names (its
    // private key signs URLs here), else the environment's (GKE workload identity: URLs signed by IAM signBlob).
    this.storage = new Storage({ apiEndpoint: options.endpoint, projectId: options.projectId });
    this.bucket = this.storage.bucket(options.bucket);
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.partsInFlight = options.partsInFlight ?? DEFAULT_PARTS_IN_FLIGHT;
    this.partBuffers = new PartBuffers(this.partSize, this.partsInFlight + 1);
  }

  /** Creates the bucket when it is missing (and the credentials may). */
  async ensureBucket(): Promise<void> {
    const [exists] = await this.bucket.exists().catch((err: unknown) => {
      if (codeOf(err) === 403) return [true]; // a role on objects alone: it exists, or requests will say so
      throw err;
    });
    if (!exists) await this.storage.createBucket(this.bucket.name);
  }

  async createUpload(uploadId: string): Promise<UploadState> {
    // Nothing to create: the parts are objects of their own.
    const state: GcsUploadState = { backend: 'gcs', version: 1, key: `blobs/${uploadId}`, parts: [], tail: null, size: 0 };
    return state;
  }

  async appendUpload(state: UploadState, chunks: AsyncIterable<Buffer>, options: AppendOptions): Promise<AppendResult> {
    const upload = gcsState(state);
    const prefix = `${uploadPrefix(upload.key)}${randomBytes(4).toString('hex')}-`;
    const appended = await appendInParts(upload, chunks, options, {
      partSize: this.partSize,
      // Every part but the last of an append is whole: few objects to compose.
      minPartSize: this.partSize,
      partsInFlight: this.partsInFlight,
      buffers: this.partBuffers,
      send: async (bytes, partNumber) => {
        const key = `${prefix}part-${partNumber}`;
        await this.put(key, bytes);
        return key;
      },
      readTail: async (key) => readAll(await this.read(key)),
      putTail: (key, bytes) => this.put(key, bytes),
    });
    // Folded 32 into one until fewer remain; the parts folded go once the new state is committed.
    const parts = [...appended.parts];
    const obsolete = [...appended.obsolete];
    for (let fold = 1; parts.length >= GCS_MAX_COMPOSE_SOURCES; fold++) {
      options.signal?.throwIfAborted();
      const sources = parts.splice(0, GCS_MAX_COMPOSE_SOURCES);
      const folded = `${prefix}fold-${fold}`;
      await this.bucket.combine(sources, folded);
      parts.unshift(folded);
      obsolete.push(...sources);
    }
    const next: GcsUploadState = { ...upload, parts, tail: appended.tail, size: appended.size };
    return { state: next, obsolete };
  }

  async sealUpload(state: UploadState): Promise<string> {
    const upload = gcsState(state);
    const sources = [...upload.parts, ...(upload.tail ? [upload.tail.key] : [])];
    // Fewer than 32 parts and a tail: one call. No bytes at all: an empty object.
    const compose = async () => (sources.length === 0 ? this.put(upload.key, Buffer.alloc(0)) : void (await this.bucket.combine(sources, upload.key)));
    // A source gone (GCS says 404, fake-gcs-server 500): perhaps composed by an earlier attempt, which then
    // removed them. The object at the upload's own key having its size decides.
    await sealOnce(upload.key, upload.size, compose, () => true, (key) => this.stat(key));
    await this.removeUploadObjects(upload);
    return upload.key;
  }

  async abortUpload(state: UploadState): Promise<void> {
    const upload = gcsState(state);
    await this.removeUploadObjects(upload);
    await this.delete(upload.key); // composed already, or nothing there
  }

  /** The upload's parts, folds and tails, and those of appends that never committed. */
  private async removeUploadObjects(upload: GcsUploadState): Promise<void> {
    for await (const object of this.list(uploadPrefix(upload.key))) await this.delete(object.key);
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.file(key).save(data, { resumable: false, validation: false });
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (range) assertValidRange(range);
    // {offset: 0} alone is the whole object (GCS refuses bytes=0- of an empty one).
    const ranged = range !== undefined && !(range.offset === 0 && range.length === undefined);
    const bounds = ranged ? { start: range.offset, end: range.length === undefined ? undefined : range.offset + range.length - 1 } : {};
    const body = this.file(key).createReadStream({ ...bounds, validation: false, decompress: false });
    // The request goes out on the first read; its status comes before any byte.
    const status = await new Promise<number>((resolve, reject) => {
      body.once('response', (response: { statusCode: number }) => resolve(response.statusCode));
      body.once('error', reject);
      body.read(0);
    }).catch((err: unknown) => codeOf(err) ?? Promise.reject(err));
    if (status < 300) return body;
    body.on('error', () => undefined).destroy();
    if (status === 404) throw new ObjectNotFoundError(key);
    if (status === 416) throw rangeNotSatisfiable();
    throw Object.assign(new Error(`GCS answered ${status} to a read of ${key}`), { code: status });
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    try {
      const [metadata] = await this.file(key).getMetadata();
      return { size: Number(metadata.size ?? 0) };
    } catch (err) {
      if (codeOf(err) === 404) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.file(key).delete({ ignoreNotFound: true });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    for await (const file of this.bucket.getFilesStream({ prefix }) as AsyncIterable<File>) {
      yield { key: file.name, size: Number(file.metadata.size ?? 0), modified: new Date(file.metadata.updated ?? 0) };
    }
  }

  staleUploads(olderThan: Date): Promise<StaleUpload[]> {
    return staleObjects(this, olderThan);
  }

  async removeStaleUpload(upload: StaleUpload): Promise<void> {
    await this.delete(upload.key);
  }

  /** A V4 signed URL: signed with the key's private key, or by IAM (signBlob) under workload identity. */
  async presignedReadUrl(key: string, seconds: number): Promise<string> {
    const [url] = await this.file(key).getSignedUrl({ version: 'v4', action: 'read', expires: Date.now() + seconds * 1000 });
    return url;
  }

  private file(key: string): File {
    keySegments(key);
    return this.bucket.file(key);
  }
}

function gcsState(state: UploadState): GcsUploadState {
  return ownUploadState<GcsUploadState>(state, 'gcs', [1], 'Google Cloud Storage');
}

/** The HTTP status of a GCS error (ApiError's code). */
function codeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
