import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, rmdir, stat, truncate, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { parseDigest } from '@ocireg/oci';
import { assertValidRange, InvalidStorageKeyError, keySegments, staleObjects, ObjectNotFoundError, rangeNotSatisfiable, tooLarge, type AppendOptions, type AppendResult, type BlobStore, type ByteRange, type ObjectStat, type StaleUpload, type StoredObject, type UploadState } from './blob-store';
import { ownUploadState } from './upload-state';
import { WriteBuffers } from './write-buffers';

/** One file written sequentially. Version 1 is also the shape written before states had versions. */
export interface FsUploadState extends UploadState {
  backend: 'fs';
  version: 1;
  /** The upload file's key. */
  key: string;
  /** Bytes committed: anything after them in the file is a failed append's and is cut off. */
  size: number;
}

/** Blobs are the service's alone: files 0600 in directories 0700 (the gateway and blob-upload run as one user). */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** Large writes and reads: few system calls per GiB. */
const IO_CHUNK = 1024 * 1024;

const UPLOAD_ID = /^[A-Za-z0-9-]{1,64}$/;

/**
 * BlobStore on a local directory (embedded mode). Layout under the root:
 *   objects/uploads/<uploadId>            an upload: one file, written sequentially
 *   objects/blobs/<alg>/<ab>/<hex>        blobs, content-addressed: one file per digest
 *   objects/<other keys>                  small objects (put)
 *   tmp/                                  files being written whole
 * An upload is fsynced once when sealed and hard-linked into its digest's
 * place (one filesystem: a reader or a crash sees no file or the whole one);
 * the upload's own name goes in confirmPlaced, once metadata names the blob.
 */
export class FsBlobStore implements BlobStore {
  readonly contentAddressed = true;
  private readonly objectsDir: string;
  private readonly tmpDir: string;
  private dirsCreated?: Promise<void>;

  constructor(readonly root: string) {
    if (!path.isAbsolute(root)) throw new Error(`blob store root must be an absolute path, not ${JSON.stringify(root)}`);
    this.objectsDir = path.join(root, 'objects');
    this.tmpDir = path.join(root, 'tmp');
  }

  async createUpload(uploadId: string): Promise<UploadState> {
    if (!UPLOAD_ID.test(uploadId)) throw new InvalidStorageKeyError(uploadId, 'not an upload id');
    const key = `uploads/${uploadId}`;
    const file = this.objectPath(key);
    await inDirectory(file, () => writeFile(file, Buffer.alloc(0), { flag: 'wx', mode: FILE_MODE }));
    const state: FsUploadState = { backend: 'fs', version: 1, key, size: 0 };
    return state;
  }

  async appendUpload(state: UploadState, chunks: AsyncIterable<Buffer>, options: AppendOptions): Promise<AppendResult> {
    const upload = fsState(state);
    const file = this.objectPath(upload.key);
    // Bytes after the committed size are a failed append's: cut them off, then write from there.
    await truncate(file, upload.size).catch((err: unknown) => {
      throw isMissing(err) ? new ObjectNotFoundError(upload.key) : err;
    });
    const out = createWriteStream(file, { flags: 'r+', start: upload.size, highWaterMark: IO_CHUNK });
    const failed = new Promise<never>((_, reject) => out.once('error', reject));
    failed.catch(() => undefined);
    const { signal } = options;
    // Aborted: the writes queued in the stream are dropped at once, not only those still to come.
    const stop = () => out.destroy(signal?.reason as Error);
    signal?.addEventListener('abort', stop, { once: true });
    let size = upload.size;
    try {
      for await (const chunk of chunks) {
        signal?.throwIfAborted();
        size += chunk.length;
        if (size > options.maxSize) throw tooLarge(options.maxSize);
        options.onChunk?.(chunk);
        if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
      }
      signal?.throwIfAborted();
      out.end();
      await Promise.race([once(out, 'close'), failed]);
    } catch (err) {
      out.destroy();
      throw err;
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    return { state: { ...upload, version: 1, size }, obsolete: [] };
  }

  async sealUpload(state: UploadState): Promise<string> {
    const upload = fsState(state);
    const handle = await open(this.objectPath(upload.key), 'r+').catch((err: unknown) => {
      throw isMissing(err) ? new ObjectNotFoundError(upload.key) : err;
    });
    try {
      await handle.truncate(upload.size);
      await handle.sync(); // the one fsync of the upload
    } finally {
      await handle.close();
    }
    return upload.key;
  }

  async placeBlob(sealedKey: string, digest: string): Promise<string> {
    const key = contentKey(digest);
    const source = this.objectPath(sealedKey);
    const target = this.objectPath(key);
    // A hard link: the sealed upload stays until confirmPlaced, in case a collector frees the blob before metadata names it again.
    try {
      await inDirectory(target, () => link(source, target));
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return key; // the same bytes are stored already: one copy per digest
      throw err;
    }
    await syncDirectory(path.dirname(target));
    return key;
  }

  async confirmPlaced(sealedKey: string, digest: string): Promise<void> {
    // Freed by a collector between placement and the metadata row that names it again: place it once more.
    if (!(await exists(this.objectPath(contentKey(digest))))) await this.placeBlob(sealedKey, digest);
    await this.delete(sealedKey);
  }

  async abortUpload(state: UploadState): Promise<void> {
    await this.delete(fsState(state).key);
  }

  async put(key: string, data: Buffer): Promise<void> {
    const target = this.objectPath(key);
    await this.ensureDirs();
    const tmp = path.join(this.tmpDir, randomUUID());
    try {
      await writeFile(tmp, data, { flag: 'wx', flush: true, mode: FILE_MODE });
      await inDirectory(target, () => rename(tmp, target));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const { handle, start, end } = await this.openRange(key, range);
    // closes the handle when done
    return handle.createReadStream({ start, end: end === undefined ? undefined : end - 1, highWaterMark: IO_CHUNK });
  }

  async sendTo(key: string, range: ByteRange | undefined, destination: Writable, begin: () => void): Promise<void> {
    const { handle, start, end = Infinity } = await this.openRange(key, range);
    try {
      begin();
      const buffers = new WriteBuffers(destination);
      for (let position = start; position < end; ) {
        const buffer = buffers.take();
        if (!buffer) {
          await buffers.ready();
          continue;
        }
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
        if (bytesRead === 0) break; // the end of the file
        position += bytesRead;
        buffers.write(buffer, bytesRead);
      }
      await buffers.flushed();
    } finally {
      await handle.close();
    }
  }

  /** An open object and the byte range [start, end) to read of it (end undefined: to its end), checked as read() documents. */
  private async openRange(key: string, range?: ByteRange): Promise<{ handle: FileHandle; start: number; end?: number }> {
    if (range) assertValidRange(range);
    const handle = await open(this.objectPath(key), 'r').catch((err: unknown) => {
      throw isMissing(err) ? new ObjectNotFoundError(key) : err;
    });
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new ObjectNotFoundError(key);
      // {offset: 0} alone is the whole object, as on S3 (where even an empty object reads fine).
      const whole = !range || (range.offset === 0 && range.length === undefined);
      if (!whole && range.offset >= stats.size) throw rangeNotSatisfiable();
      const start = range?.offset ?? 0;
      return { handle, start, end: range?.length === undefined ? undefined : Math.min(start + range.length, stats.size) };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    try {
      const stats = await stat(this.objectPath(key));
      return stats.isFile() ? { size: stats.size } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.objectPath(key);
    try {
      await unlink(file);
    } catch (err) {
      if (isMissing(err) || errnoCode(err) === 'EISDIR') return;
      throw err;
    }
    await this.pruneEmptyParents(file);
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const dir = this.objectPath(prefix.replace(/\/$/, ''));
    for await (const file of walk(dir)) {
      const stats = await stat(file).catch((err: unknown) => {
        if (isMissing(err)) return undefined; // deleted while listed
        throw err;
      });
      if (stats?.isFile()) yield { key: path.relative(this.objectsDir, file).split(path.sep).join('/'), size: stats.size, modified: stats.mtime };
    }
  }

  staleUploads(olderThan: Date): Promise<StaleUpload[]> {
    return staleObjects(this, olderThan);
  }

  async removeStaleUpload(upload: StaleUpload): Promise<void> {
    await this.delete(upload.key);
  }

  /** The path of a key's object; throws InvalidStorageKeyError for a key that could leave the root. */
  private objectPath(key: string): string {
    return path.join(this.objectsDir, ...keySegments(key));
  }

  private ensureDirs(): Promise<void> {
    this.dirsCreated ??= Promise.all([this.objectsDir, this.tmpDir].map((dir) => mkdir(dir, { recursive: true, mode: DIR_MODE }))).then(() => undefined);
    return this.dirsCreated;
  }

  /** Removes directories a delete left empty, so DATA_DIR does not fill with them. */
  private async pruneEmptyParents(file: string): Promise<void> {
    for (let dir = path.dirname(file); dir !== this.objectsDir; dir = path.dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone): the directories above are not empty either
      }
    }
  }
}

/** Where the blob of a digest lives: blobs/<algorithm>/<first two hex digits>/<hex>. */
function contentKey(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex.slice(0, 2)}/${hex}`;
}

/**
 * Runs `create` (which makes `file`) after making its directory; again when
 * a delete pruned an emptied directory on the way in between (ENOENT).
 */
async function inDirectory<T>(file: string, create: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
      return await create();
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt === 5) throw err;
    }
  }
}

/** Every file below `dir` (none when it does not exist), depth first, one directory open at a time. */
async function* walk(dir: string): AsyncIterable<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  for (const entry of entries) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(child);
    else if (entry.isFile()) yield child;
  }
}

function fsState(state: UploadState): FsUploadState {
  return ownUploadState<FsUploadState>(state, 'fs', [1], 'the filesystem');
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** A rename or link is durable once its directory is synced. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** ENOTDIR: a prefix of the path is a file, so nothing exists below it either. */
function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
