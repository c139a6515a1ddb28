import { describe, expect, it } from 'vitest';
import { AzureBlobStore } from './azure-store';
import { blobStoreEnvProblems, createBlobStore } from './create-blob-store';
import { FsBlobStore } from './fs-store';
import { GcsBlobStore } from './gcs-store';
import { S3BlobStore } from './s3-store';
import { FailureMappingBlobStore } from './storage-failures';

const backendOf = (store: unknown) => (store as FailureMappingBlobStore).store;

const s3 = { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'key', S3_SECRET_KEY: 'secret', S3_BUCKET: 'blobs' };
const azure = { AZURE_STORAGE_ACCOUNT: 'ociregtest', AZURE_STORAGE_CONTAINER: 'blobs', AZURE_STORAGE_KEY: Buffer.from('key').toString('base64') };
const MiB = 1024 * 1024;

/** A logger that keeps what it is told. */
function warnings() {
  const lines: string[] = [];
  return { lines, logger: { warn: (_details: object, message: string) => void lines.push(message) } };
}

describe('createBlobStore', () => {
  it('builds the backend STORAGE_BACKEND names, whatever else is set', async () => {
    const { lines, logger } = warnings();
    expect(backendOf(await createBlobStore({ STORAGE_BACKEND: 'filesystem', DATA_DIR: '/var/lib/ocireg', ...s3 }, { logger }))).toBeInstanceOf(FsBlobStore);
    expect(backendOf(await createBlobStore({ STORAGE_BACKEND: 's3', ...s3, DATA_DIR: '/var/lib/ocireg' }, { logger }))).toBeInstanceOf(S3BlobStore);
    expect(backendOf(await createBlobStore({ STORAGE_BACKEND: 'azure', ...azure, ...s3 }, { logger }))).toBeInstanceOf(AzureBlobStore);
    expect(backendOf(await createBlobStore({ STORAGE_BACKEND: 'gcs', GCS_BUCKET: 'blobs', GCS_ENDPOINT: 'http://127.0.0.1:4443' }, { logger }))).toBeInstanceOf(GcsBlobStore);
    expect(lines).toEqual([]);
  });

  it('puts the filesystem store under $DATA_DIR/blobs', async () => {
    const store = await createBlobStore({ STORAGE_BACKEND: 'filesystem', DATA_DIR: '/var/lib/ocireg' });
    expect(store).toBeInstanceOf(FailureMappingBlobStore);
    expect((backendOf(store) as FsBlobStore).root).toBe('/var/lib/ocireg/blobs');
  });

  it('without STORAGE_BACKEND, infers it as before (S3 when S3_ENDPOINT is set, else the filesystem) and says once that this is deprecated', async () => {
    const s3Inferred = warnings();
    expect(backendOf(await createBlobStore({ ...s3, DATA_DIR: '/var/lib/ocireg' }, { logger: s3Inferred.logger }))).toBeInstanceOf(S3BlobStore);
    expect(s3Inferred.lines).toEqual(['STORAGE_BACKEND is not set: using s3 because S3_ENDPOINT is set (deprecated; set STORAGE_BACKEND=s3)']);
    const fsInferred = warnings();
    expect(backendOf(await createBlobStore({ DATA_DIR: '/var/lib/ocireg', S3_ENDPOINT: '' }, { logger: fsInferred.logger }))).toBeInstanceOf(FsBlobStore);
    expect(fsInferred.lines).toHaveLength(1);
    expect(fsInferred.lines[0]).toMatch(/STORAGE_BACKEND=filesystem/);
  });

  it('names STORAGE_BACKEND and its choices when nothing says where blobs go, or it names no backend', async () => {
    await expect(createBlobStore({})).rejects.toThrow(/STORAGE_BACKEND: .*filesystem, s3, azure, gcs/);
    expect(blobStoreEnvProblems({})).toEqual([{ variable: 'STORAGE_BACKEND', message: expect.stringMatching(/DATA_DIR/) }]);
    expect(blobStoreEnvProblems({ STORAGE_BACKEND: 'swift' })).toEqual([{ variable: 'STORAGE_BACKEND', message: 'expected one of filesystem, s3, azure, gcs' }]);
  });

  it("names the chosen backend's missing variables", async () => {
    expect(blobStoreEnvProblems({ STORAGE_BACKEND: 's3', S3_ENDPOINT: s3.S3_ENDPOINT, S3_BUCKET: 'blobs', DATA_DIR: '/data' })).toEqual([
      { variable: 'S3_ACCESS_KEY', message: 'required when STORAGE_BACKEND is s3' },
      { variable: 'S3_SECRET_KEY', message: 'required when STORAGE_BACKEND is s3' },
    ]);
    await expect(createBlobStore({ S3_ENDPOINT: s3.S3_ENDPOINT })).rejects.toThrow(/S3_ACCESS_KEY/);
    expect(blobStoreEnvProblems({ STORAGE_BACKEND: 'filesystem' }).map((p) => p.variable)).toEqual(['DATA_DIR']);
    expect(blobStoreEnvProblems({ STORAGE_BACKEND: 'azure', AZURE_STORAGE_ACCOUNT: 'ociregtest' }).map((p) => p.variable)).toEqual(['AZURE_STORAGE_CONTAINER']);
    // No key: workload identity (DefaultAzureCredential), which is not a config problem.
    expect(blobStoreEnvProblems({ STORAGE_BACKEND: 'azure', AZURE_STORAGE_ACCOUNT: 'ociregtest', AZURE_STORAGE_CONTAINER: 'blobs' })).toEqual([]);
    expect(blobStoreEnvProblems({ STORAGE_BACKEND: 'gcs' }).map((p) => p.variable)).toEqual(['GCS_BUCKET']);
    expect(blobStoreEnvProblems({ STORAGE_BACKEND: 'gcs', GCS_BUCKET: 'blobs', GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/key.json' })).toEqual([{ variable: 'GOOGLE_APPLICATION_CREDENTIALS', message: expect.stringMatching(/cannot use \/nonexistent\/key.json/) }]);
  });

  it("checks UPLOAD_PART_SIZE against the chosen backend's own part limits, and the largest blob against its part count", () => {
    const parts = (env: Record<string, string | number>, maxBlobSize?: number) => blobStoreEnvProblems(env, { maxBlobSize }).filter((p) => p.variable === 'UPLOAD_PART_SIZE').map((p) => p.message);
    // S3: at least 5 MiB, and 10,000 parts.
    expect(parts({ STORAGE_BACKEND: 's3', ...s3, UPLOAD_PART_SIZE: 5 * MiB - 1 })).toEqual(["must be at least 5 MiB (S3's minimum part size)"]);
    expect(parts({ STORAGE_BACKEND: 's3', ...s3 }, 64 * 1024 * MiB)).toEqual(['MAX_BLOB_SIZE / UPLOAD_PART_SIZE must fit in 10,000 S3 parts']);
    expect(parts({ STORAGE_BACKEND: 's3', ...s3, UPLOAD_PART_SIZE: 8 * MiB }, 64 * 1024 * MiB)).toEqual([]);
    // Azure: no minimum, 50,000 blocks of at most 4000 MiB.
    expect(parts({ STORAGE_BACKEND: 'azure', ...azure, UPLOAD_PART_SIZE: MiB }, 32 * 1024 * MiB)).toEqual([]);
    expect(parts({ STORAGE_BACKEND: 'azure', ...azure, UPLOAD_PART_SIZE: 512 * 1024 }, 32 * 1024 * MiB)).toEqual(['MAX_BLOB_SIZE / UPLOAD_PART_SIZE must fit in 50,000 Azure blocks']);
    expect(parts({ STORAGE_BACKEND: 'azure', ...azure, UPLOAD_PART_SIZE: 4001 * MiB })).toEqual(["must be at most 4000 MiB (Azure's largest block)"]);
    // GCS composes its parts as they come: any size, any count; the filesystem has no parts.
    expect(parts({ STORAGE_BACKEND: 'gcs', GCS_BUCKET: 'blobs', UPLOAD_PART_SIZE: 256 * 1024 }, 32 * 1024 * MiB)).toEqual([]);
    expect(parts({ STORAGE_BACKEND: 'filesystem', DATA_DIR: '/data', UPLOAD_PART_SIZE: 1 }, 32 * 1024 * MiB)).toEqual([]);
  });
});
