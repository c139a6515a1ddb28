import { describe, expect, it } from 'vitest';
import { ConfigError } from '@ocireg/config';
import { loadBlobUploadConfig } from './config';

const s3 = { STORAGE_BACKEND: 's3', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'key', S3_SECRET_KEY: 'secret', S3_BUCKET: 'blobs' };

describe('blob-upload storage config', () => {
  it('runs embedded with the filesystem backend and DATA_DIR', () => {
    const config = loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', STORAGE_BACKEND: 'filesystem', DATA_DIR: '/var/lib/ocireg' });
    expect([config.STORAGE_BACKEND, config.DATA_DIR]).toEqual(['filesystem', '/var/lib/ocireg']);
    expect([config.S3_ENDPOINT, config.REDIS_URL]).toEqual([undefined, undefined]);
  });

  it('keeps sessions in files when REDIS_URL is empty, as the other services read an empty one', () => {
    expect(loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', DATA_DIR: '/var/lib/ocireg', REDIS_URL: '' }).REDIS_URL).toBeUndefined();
  });

  it('runs with S3 and Redis and no DATA_DIR, as in production', () => {
    expect(loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', ...s3, REDIS_URL: 'redis://127.0.0.1:6379' }).DATA_DIR).toBeUndefined();
  });

  it('names both options for blobs and for sessions when nothing is set', () => {
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls' })).toThrow(ConfigError);
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls' })).toThrow(/STORAGE_BACKEND: .*filesystem, s3, azure, gcs/);
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls' })).toThrow(/REDIS_URL: .*DATA_DIR/);
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', ...s3 })).toThrow(/REDIS_URL: upload sessions need REDIS_URL/);
  });

  it('refuses an unknown backend, an incomplete S3 configuration and a relative DATA_DIR', () => {
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', STORAGE_BACKEND: 'swift', DATA_DIR: '/data' })).toThrow(/STORAGE_BACKEND: Invalid enum value. Expected 'filesystem' \| 's3' \| 'azure' \| 'gcs'/);
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', STORAGE_BACKEND: 's3', S3_ENDPOINT: s3.S3_ENDPOINT, DATA_DIR: '/data' })).toThrow(/S3_SECRET_KEY: required when STORAGE_BACKEND is s3/);
    // Inferred from S3_ENDPOINT (deprecated), the same.
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', S3_ENDPOINT: s3.S3_ENDPOINT, DATA_DIR: '/data' })).toThrow(/S3_SECRET_KEY: required when STORAGE_BACKEND is s3/);
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', DATA_DIR: 'data' })).toThrow(/DATA_DIR: expected an absolute path/);
  });

  it("leaves the part size to the backend (5 MiB S3 parts by default), and refuses parts under S3's minimum or too small for MAX_BLOB_SIZE in 10,000 parts", () => {
    const base = { INTERNAL_TLS_DIR: '/etc/ocireg/tls', DATA_DIR: '/data', ...s3 };
    expect(loadBlobUploadConfig(base).UPLOAD_PART_SIZE).toBeUndefined();
    expect(() => loadBlobUploadConfig({ ...base, UPLOAD_PART_SIZE: String(5 * 1024 * 1024 - 1) })).toThrow(/UPLOAD_PART_SIZE: must be at least 5 MiB/);
    // 32 GiB in 5 MiB parts is 6,554; 64 GiB would be 13,108.
    expect(loadBlobUploadConfig({ ...base, MAX_BLOB_SIZE: String(32 * 1024 ** 3) }).MAX_BLOB_SIZE).toBe(32 * 1024 ** 3);
    expect(() => loadBlobUploadConfig({ ...base, MAX_BLOB_SIZE: String(64 * 1024 ** 3) })).toThrow(/UPLOAD_PART_SIZE: MAX_BLOB_SIZE \/ UPLOAD_PART_SIZE must fit in 10,000 S3 parts/);
    expect(loadBlobUploadConfig({ ...base, MAX_BLOB_SIZE: String(64 * 1024 ** 3), UPLOAD_PART_SIZE: String(8 * 1024 * 1024) }).UPLOAD_PART_SIZE).toBe(8 * 1024 * 1024);
  });

  it('gives write leases 5 seconds by default, and refuses leases under a second', () => {
    const base = { INTERNAL_TLS_DIR: '/etc/ocireg/tls', DATA_DIR: '/data' };
    expect(loadBlobUploadConfig(base).UPLOAD_LEASE_SECONDS).toBe(5);
    expect(loadBlobUploadConfig({ ...base, UPLOAD_LEASE_SECONDS: '2.5' }).UPLOAD_LEASE_SECONDS).toBe(2.5);
    expect(() => loadBlobUploadConfig({ ...base, UPLOAD_LEASE_SECONDS: '0.5' })).toThrow(/UPLOAD_LEASE_SECONDS: must be at least 1 second/);
  });
});
