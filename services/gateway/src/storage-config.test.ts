import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from './config';

const required = { INTERNAL_TLS_DIR: '/etc/ocireg/tls', AUTH_ADDR: 'a:1', METADATA_ADDR: 'm:2', BLOB_UPLOAD_ADDR: 'b:3', INDEXER_ADDR: 'i:4', WEBHOOKS_ADDR: 'w:5', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('gateway blob storage config', () => {
  it('reads blobs from the backend STORAGE_BACKEND names, with its variables', () => {
    const config = loadGatewayConfig({ ...required, STORAGE_BACKEND: 'filesystem', DATA_DIR: '/var/lib/ocireg' });
    expect([config.STORAGE_BACKEND, config.DATA_DIR, config.S3_ENDPOINT]).toEqual(['filesystem', '/var/lib/ocireg', undefined]);
    const gcs = loadGatewayConfig({ ...required, STORAGE_BACKEND: 'gcs', GCS_BUCKET: 'registry-blobs' });
    expect(gcs.GCS_BUCKET).toBe('registry-blobs');
    expect(() => loadGatewayConfig({ ...required, STORAGE_BACKEND: 'azure', AZURE_STORAGE_ACCOUNT: 'registry' })).toThrow(/AZURE_STORAGE_CONTAINER: required when STORAGE_BACKEND is azure/);
  });

  it('still reads blobs from DATA_DIR when STORAGE_BACKEND and S3_ENDPOINT are unset (deprecated)', () => {
    expect(loadGatewayConfig({ ...required, DATA_DIR: '/var/lib/ocireg' }).DATA_DIR).toBe('/var/lib/ocireg');
  });

  it('names STORAGE_BACKEND and its choices when nothing says where blobs are', () => {
    expect(() => loadGatewayConfig(required)).toThrow(/STORAGE_BACKEND: .*filesystem, s3, azure, gcs/);
  });

  it("refuses a part size under the S3 backend's minimum, and takes any for the others", () => {
    const s3 = { STORAGE_BACKEND: 's3', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'key', S3_SECRET_KEY: 'secret', S3_BUCKET: 'blobs' };
    expect(() => loadGatewayConfig({ ...required, ...s3, UPLOAD_PART_SIZE: String(1024 * 1024) })).toThrow(/UPLOAD_PART_SIZE: must be at least 5 MiB/);
    expect(loadGatewayConfig({ ...required, STORAGE_BACKEND: 'gcs', GCS_BUCKET: 'blobs', UPLOAD_PART_SIZE: String(1024 * 1024) }).UPLOAD_PART_SIZE).toBe(1024 * 1024);
  });
});
