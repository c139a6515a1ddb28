import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
  type BlockBlobClient,
  type ContainerClient,
  type UserDelegationKey,
} from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import { assertValidRange, keySegments, staleObjects, ObjectNotFoundError, rangeNotSatisfiable, type AppendOptions, type AppendResult, type BlobStore, type ByteRange, type ObjectStat, type StaleUpload, type StoredObject, type UploadState } from './blob-store';
import { PartBuffers } from './part-buffers';
import { appendInParts, DEFAULT_PART_SIZE, DEFAULT_PARTS_IN_FLIGHT, sealOnce, uploadPrefix, type PartedUploadState } from './parted-append';
import { SealedInPlaceStore } from './sealed-in-place';
import { ownUploadState } from './upload-state';

/** Azure's upper bound for one block. */
export const AZURE_MAX_BLOCK_SIZE = 4000 * 1024 * 1024;
/** Azure's upper bound on the committed blocks of one block blob. */
export const AZURE_MAX_BLOCKS = 50_000;

/** Marks a StaleUpload that is a blob's uncommitted blocks, not an object. */
const UNCOMMITTED = 'uncommitted-blocks';

/** Blocks staged for the block blob at `key` (their ids, in order), and a tail short of a block. */
export interface AzureUploadState extends PartedUploadState<string> {
  backend: 'azure';
  version: 1;
}

export interface AzureStoreOptions {
  /** The blob service: https://<account>.blob.core.windows.net, or Azurite's http://127.0.0.1:<port>/<account>. */
  endpoint: string;
  account: string;
  container: string;
  /** The account's shared key; without it, `credential` (workload identity). */
  accountKey?: string;
  credential?: TokenCredential;
  /** Bytes per block (at most 4000 MiB; the largest blob must fit in 50,000 blocks): 5 MiB by default. */
  partSize?: number;
  partsInFlight?: number;
}

/**
 * BlobStore on Azure Blob Storage, through @azure/storage-blob. An upload is
 * a block blob whose blocks are staged as its bytes arrive (a few at a time
 * while the next fills, as S3 parts are) and committed once, when sealed:
 * until then it is invisible, and committing its list discards whatever a
 * failed append staged. Block ids carry a random word per append, so a dead
 * writer's late block never replaces a live one's. Bytes short of a block at
 * the end of an append wait as a small tail object, so small PATCHes do not
 * use up the 50,000 blocks. Signed URLs are SAS: signed with the shared key,
 * or with a user delegation key under workload identity.
 */
export class AzureBlobStore extends SealedInPlaceStore implements BlobStore {
  private readonly service: BlobServiceClient;
  private readonly container: ContainerClient;
  private readonly sharedKey: StorageSharedKeyCredential | undefined;
  private readonly partSize: number;
  private readonly partsInFlight: number;
  private readonly partBuffers: PartBuffers;
  private delegationKey: { key: UserDelegationKey; expires: number } | undefined;

  constructor(private readonly options: AzureStoreOptions) {
    super();
    this.sharedKey = options.accountKey ? new StorageSharedKeyCredential(options.account, options.accountKey) : undefined;
    const credential = this.sharedKey ?? options.credential;
    if (!credential) throw new Error('Azure Blob Storage needs an account key or a credential');
    this.service = new BlobServiceClient(options.endpoint, credential);
    this.container = this.service.getContainerClient(options.container);
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.partsInFlight = options.partsInFlight ?? DEFAULT_PARTS_IN_FLIGHT;
    if (this.partSize > AZURE_MAX_BLOCK_SIZE) throw new Error(`Azure block size must be at most ${AZURE_MAX_BLOCK_SIZE} bytes`);
    this.partBuffers = new PartBuffers(this.partSize, this.partsInFlight + 1);
  }

  /** Creates the container when it is missing (and the credential may). */
  async ensureContainer(): Promise<void> {
    await this.container.createIfNotExists().catch((err: unknown) => {
      if (statusOf(err) !== 403) throw err; // a role that may write blobs but not make containers: it exists, or requests will say so
    });
  }

  async createUpload(uploadId: string): Promise<UploadState> {
    // Nothing to create: the blob exists once its blocks are committed.
    const state: AzureUploadState = { backend: 'azure', version: 1, key: `blobs/${uploadId}`, parts: [], tail: null, size: 0 };
    return state;
  }

  async appendUpload(state: UploadState, chunks: AsyncIterable<Buffer>, options: AppendOptions): Promise<AppendResult> {
    const upload = azureState(state);
    const blob = this.blob(upload.key);
    const append = randomBytes(4).toString('hex');
    const { parts, tail, size, obsolete } = await appendInParts(upload, chunks, options, {
      partSize: this.partSize,
      // Every block but the last of an append is whole, so a blob of n bytes has at most n / partSize blocks and tails.
      minPartSize: this.partSize,
      partsInFlight: this.partsInFlight,
      buffers: this.partBuffers,
      send: async (bytes, partNumber) => {
        const id = blockId(append, partNumber);
        await blob.stageBlock(id, bytes, bytes.length);
        return id;
      },
      readTail: async (key) => readAll(await this.read(key)),
      putTail: (key, bytes) => this.put(key, bytes),
    });
    const next: AzureUploadState = { ...upload, parts, tail, size };
    return { state: next, obsolete };
  }

  async sealUpload(state: UploadState): Promise<string> {
    const upload = azureState(state);
    const blob = this.blob(upload.key);
    const commit = async () => {
      const blocks = [...upload.parts];
      if (upload.tail) {
        const tail = await readAll(await this.read(upload.tail.key));
        const id = blockId(randomBytes(4).toString('hex'), blocks.length + 1);
        await blob.stageBlock(id, tail, tail.length);
        blocks.push(id);
      }
      // Committing the list (none: an empty blob) discards every other staged block.
      await blob.commitBlockList(blocks);
    };
    // The tail gone, or blocks no longer staged: perhaps committed by an earlier attempt.
    const maybeSealed = (err: unknown) => err instanceof ObjectNotFoundError || statusOf(err) === 400;
    await sealOnce(upload.key, upload.size, commit, maybeSealed, (key) => this.stat(key));
    await this.removeUploadObjects(upload);
    return upload.key;
  }

  async abortUpload(state: UploadState): Promise<void> {
    const upload = azureState(state);
    await this.removeUploadObjects(upload);
    await this.discardBlocks(upload.key);
  }

  /** Frees a blob and any blocks staged for it: an empty list commits over them, then the blob goes. */
  private async discardBlocks(key: string): Promise<void> {
    const blob = this.blob(key);
    await blob.commitBlockList([]);
    await blob.deleteIfExists();
  }

  /** The upload's tails, and those of appends that never committed. */
  private async removeUploadObjects(upload: AzureUploadState): Promise<void> {
    for await (const object of this.list(uploadPrefix(upload.key))) await this.delete(object.key);
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.blob(key).upload(data, data.length);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (range) assertValidRange(range);
    // {offset: 0} alone is the whole object (an empty one too).
    const ranged = range !== undefined && !(range.offset === 0 && range.length === undefined);
    let body: Readable | undefined;
    try {
      const response = ranged ? await this.blob(key).download(range.offset, range.length) : await this.blob(key).download();
      body = response.readableStreamBody as Readable | undefined;
      // Azure answers 416 for an offset at the end; Azurite an empty 206.
      if (ranged && response.contentLength === 0) throw rangeNotSatisfiable();
    } catch (err) {
      body?.destroy();
      if (statusOf(err) === 404) throw new ObjectNotFoundError(key);
      if (statusOf(err) === 416) throw rangeNotSatisfiable();
      throw err;
    }
    if (!body) throw new Error(`Azure returned no body for ${key}`);
    return body;
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    try {
      return { size: (await this.blob(key).getProperties()).contentLength ?? 0 };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.blob(key).deleteIfExists();
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    for await (const item of this.container.listBlobsFlat({ prefix })) {
      yield { key: item.name, size: item.properties.contentLength ?? 0, modified: item.properties.lastModified };
    }
  }

  async staleUploads(olderThan: Date): Promise<StaleUpload[]> {
    const stale = await staleObjects(this, olderThan);
    // Blocks staged for a blob never committed (its session lost in a crash): listed with no length, and not there to read.
    for await (const item of this.container.listBlobsFlat({ prefix: 'blobs/', includeUncommitedBlobs: true })) {
      const modified = item.properties.lastModified;
      if (!item.properties.contentLength && modified < olderThan && !(await this.stat(item.name))) stale.push({ key: item.name, multipartId: UNCOMMITTED, size: 0, started: modified });
    }
    return stale;
  }

  async removeStaleUpload(upload: StaleUpload): Promise<void> {
    if (upload.multipartId === UNCOMMITTED) return this.discardBlocks(upload.key);
    await this.delete(upload.key);
  }

  /** A SAS URL: signed with the shared key, or with a user delegation key under workload identity. */
  async presignedReadUrl(key: string, seconds: number): Promise<string> {
    const expiresOn = new Date(Date.now() + seconds * 1000);
    const values = { containerName: this.options.container, blobName: key, permissions: BlobSASPermissions.parse('r'), expiresOn };
    const query = this.sharedKey
      ? generateBlobSASQueryParameters(values, this.sharedKey)
      : generateBlobSASQueryParameters(values, await this.userDelegationKey(expiresOn), this.options.account);
    return `${this.blob(key).url}?${query.toString()}`;
  }

  /** A user delegation key that outlives `until`, kept until then (at most 7 days, Azure's limit). */
  private async userDelegationKey(until: Date): Promise<UserDelegationKey> {
    if (this.delegationKey && this.delegationKey.expires > until.getTime()) return this.delegationKey.key;
    const expires = Math.max(until.getTime(), Date.now() + 86_400_000);
    const key = await this.service.getUserDelegationKey(new Date(Date.now() - 60_000), new Date(expires));
    this.delegationKey = { key, expires };
    return key;
  }

  private blob(key: string): BlockBlobClient {
    keySegments(key);
    return this.container.getBlockBlobClient(key);
  }
}

/** Block ids of one blob must all have the same length: an append's random word and the part's number. */
function blockId(append: string, partNumber: number): string {
  return Buffer.from(`${append}-${String(partNumber).padStart(6, '0')}`).toString('base64');
}

function azureState(state: UploadState): AzureUploadState {
  return ownUploadState<AzureUploadState>(state, 'azure', [1], 'Azure Blob Storage');
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | undefined)?.statusCode;
}
