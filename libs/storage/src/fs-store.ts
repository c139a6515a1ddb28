import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertValidRange,
  MAX_PARTS,
  MIN_PART_SIZE,
  ObjectNotFoundError,
  rangeNotSatisfiable,
  type BlobStore,
  type ByteRange,
  type ObjectStat,
  type UploadedPart,
} from './blob-store';


/** Blobs are the service's alone: files 0600 in directories 0700 (the gateway and blob-upload run as one user). */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** A key that cannot safely become a path below the store's root. */
export class InvalidStorageKeyError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`invalid storage key ${JSON.stringify(key)}: ${problem}`);
    this.name = 'InvalidStorageKeyError';
  }
}

/** The S3 error codes, so callers can treat a failed multipart step alike on both backends. */
export type MultipartErrorCode = 'NoSuchUpload' | 'InvalidPart' | 'InvalidPartOrder' | 'EntityTooSmall' | 'InvalidRequest' | 'InvalidArgument';

export class MultipartUploadError extends Error {
  constructor(
    readonly code: MultipartErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MultipartUploadError';
  }
}

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ETAG = /^[0-9a-f]{32}$/;

/**
 * BlobStore on a local directory (embedded mode). Layout under the root:
 *   objects/<key>                       the objects
 *   multipart/<uploadId>/key            the key an upload assembles into
 *   multipart/<uploadId>/<n>.<etag>     its parts
 *   tmp/                                files being written
 * Every file is written in tmp/ and renamed into place; all of it is one
 * filesystem, so a reader or a crash sees the old file or the new one, never half.
 */
export class FsBlobStore implements BlobStore {
  private readonly objectsDir: string;
  private readonly multipartDir: string;
  private readonly tmpDir: string;
  private dirsCreated?: Promise<void>;

  constructor(readonly root: string) {
    if (!path.isAbsolute(root)) throw new Error(`blob store root must be an absolute path, not ${JSON.stringify(root)}`);
    this.objectsDir = path.join(root, 'objects');
    this.multipartDir = path.join(root, 'multipart');
    this.tmpDir = path.join(root, 'tmp');
  }

  async startMultipart(key: string): Promise<string> {
    this.objectPath(key);
    await this.ensureDirs();
    const uploadId = randomUUID();
    const dir = path.join(this.multipartDir, uploadId);
    await mkdir(dir, { mode: DIR_MODE });
    await this.writeAtomically(path.join(dir, 'key'), Buffer.from(key));
    return uploadId;
  }

  async putPart(key: string, uploadId: string, partNumber: number, data: Buffer): Promise<UploadedPart> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
      throw new MultipartUploadError('InvalidArgument', `part number must be an integer from 1 to ${MAX_PARTS}, not ${partNumber}`);
    }
    const dir = await this.uploadDir(key, uploadId);
    // MD5 like S3's ETag; it names the file, so completing with a stale ETag finds no part.
    const etag = createHash('md5').update(data).digest('hex');
    await this.writeAtomically(path.join(dir, `${partNumber}.${etag}`), data);
    return { partNumber, etag };
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    const target = this.objectPath(key);
    const dir = await this.uploadDir(key, uploadId);
    if (parts.length === 0) throw new MultipartUploadError('InvalidRequest', 'a multipart upload needs at least one part');
    parts.forEach((part, i) => {
      if (i > 0 && part.partNumber <= parts[i - 1]!.partNumber) throw new MultipartUploadError('InvalidPartOrder', 'parts must be listed in ascending part-number order');
    });
    const files = parts.map((part) => {
      if (!ETAG.test(part.etag)) throw new MultipartUploadError('InvalidPart', `part ${part.partNumber} has no ETag this store issued`);
      return path.join(dir, `${part.partNumber}.${part.etag}`);
    });
    const sizes = await Promise.all(
      files.map(async (file, i) => {
        const stats = await stat(file).catch((err: unknown) => {
          if (isMissing(err)) throw new MultipartUploadError('InvalidPart', `part ${parts[i]!.partNumber} with ETag ${parts[i]!.etag} was not uploaded`);
          throw err;
        });
        return stats.size;
      }),
    );
    if (sizes.slice(0, -1).some((size) => size < MIN_PART_SIZE)) {
      throw new MultipartUploadError('EntityTooSmall', `every part but the last must be at least ${MIN_PART_SIZE} bytes`);
    }

    const tmp = this.tmpPath();
    try {
      await pipeline(concatenate(files), createWriteStream(tmp, { flags: 'wx', flush: true, mode: FILE_MODE }));
      await this.moveIntoPlace(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await rm(dir, { recursive: true, force: true });
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await rm(await this.uploadDir(key, uploadId), { recursive: true, force: true });
    } catch (err) {
      if (!(err instanceof MultipartUploadError && err.code === 'NoSuchUpload')) throw err;
    }
  }

  async put(key: string, data: Buffer): Promise<void> {
    const target = this.objectPath(key);
    await this.ensureDirs();
    await this.writeAtomically(target, data);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
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
      const end = range?.length === undefined ? undefined : start + range.length - 1;
      return handle.createReadStream({ start, end }); // closes the handle when done
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

  /** The path of a key's object; throws InvalidStorageKeyError for a key that could leave the root. */
  private objectPath(key: string): string {
    return path.join(this.objectsDir, ...keySegments(key));
  }

  private async uploadDir(key: string, uploadId: string): Promise<string> {
    const unknown = () => new MultipartUploadError('NoSuchUpload', `no multipart upload ${JSON.stringify(uploadId)} for key ${JSON.stringify(key)}`);
    this.objectPath(key);
    if (!UPLOAD_ID.test(uploadId)) throw unknown();
    const dir = path.join(this.multipartDir, uploadId);
    const owner = await readFile(path.join(dir, 'key'), 'utf8').catch((err: unknown) => {
      throw isMissing(err) ? unknown() : err;
    });
    if (owner !== key) throw unknown();
    return dir;
  }

  private ensureDirs(): Promise<void> {
    this.dirsCreated ??= Promise.all([this.objectsDir, this.multipartDir, this.tmpDir].map((dir) => mkdir(dir, { recursive: true, mode: DIR_MODE }))).then(() => undefined);
    return this.dirsCreated;
  }

  private tmpPath(): string {
    return path.join(this.tmpDir, randomUUID());
  }

  private async writeAtomically(target: string, data: Buffer): Promise<void> {
    const tmp = this.tmpPath();
    try {
      await writeFile(tmp, data, { flag: 'wx', flush: true, mode: FILE_MODE });
      await this.moveIntoPlace(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  private async moveIntoPlace(tmp: string, target: string): Promise<void> {
    await mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
    try {
      await rename(tmp, target);
    } catch (err) {
      if (!isMissing(err) || !target.startsWith(this.objectsDir + path.sep)) throw err;
      // A concurrent delete pruned the (then empty) parent between mkdir and rename.
      await mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
      await rename(tmp, target);
    }
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

function keySegments(key: string): string[] {
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

async function* concatenate(files: string[]): AsyncIterable<Buffer> {
  for (const file of files) yield* createReadStream(file);
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** ENOTDIR: a prefix of the path is a file, so nothing exists below it either. */
function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
