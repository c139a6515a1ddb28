import type { Readable } from 'node:stream';
import { Client } from 'minio';
import { assertValidRange, ObjectNotFoundError, rangeNotSatisfiable, type BlobStore, type ByteRange, type ObjectStat, type UploadedPart } from './blob-store';

export interface S3StoreOptions {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

/** BlobStore on S3 or MinIO, through the minio client. */
export class S3BlobStore implements BlobStore {
  private readonly client: Client;
  private readonly bucket: string;

  constructor(options: S3StoreOptions) {
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
    this.bucket = options.bucket;
  }

  async ensureBucket(region: string): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) await this.client.makeBucket(this.bucket, region);
  }

  startMultipart(key: string): Promise<string> {
    return this.client.initiateNewMultipartUpload(this.bucket, key, {});
  }

  async putPart(key: string, uploadId: string, partNumber: number, data: Buffer): Promise<UploadedPart> {
    const { etag } = await this.client.uploadPart({ bucketName: this.bucket, objectName: key, uploadID: uploadId, partNumber, headers: {} }, data);
    return { partNumber, etag };
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    await this.client.completeMultipartUpload(this.bucket, key, uploadId, parts.map((part) => ({ part: part.partNumber, etag: part.etag })));
  }

  abortMultipart(key: string, uploadId: string): Promise<void> {
    return this.client.abortMultipartUpload(this.bucket, key, uploadId);
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.client.putObject(this.bucket, key, data, data.length);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (range) assertValidRange(range);
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
}

function errorCode(err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code;
}

function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'NotFound' || code === 'NoSuchKey';
}
