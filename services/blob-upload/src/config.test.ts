import { describe, expect, it } from 'vitest';
import { ConfigError } from '@ocireg/config';
import { loadBlobUploadConfig } from './config';

const s3 = { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'key', S3_SECRET_KEY: 'secret', S3_BUCKET: 'blobs' };

describe('blob-upload storage config', () => {
  it('runs embedded with only DATA_DIR', () => {
    const config = loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', DATA_DIR: '/var/lib/ocireg' });
    expect(config.DATA_DIR).toBe('/var/lib/ocireg');
    expect([config.S3_ENDPOINT, config.REDIS_URL]).toEqual([undefined, undefined]);
  });

  it('runs with S3 and Redis and no DATA_DIR, as in production', () => {
    expect(loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', ...s3, REDIS_URL: 'redis://127.0.0.1:6379' }).DATA_DIR).toBeUndefined();
  });

  it('names both options for blobs and for sessions when nothing is set', () => {
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls' })).toThrow(ConfigError);
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls' })).toThrow(/S3_ENDPOINT: .*DATA_DIR/);
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls' })).toThrow(/REDIS_URL: .*DATA_DIR/);
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', ...s3 })).toThrow(/REDIS_URL: upload sessions need REDIS_URL/);
  });

  it('refuses an incomplete S3 configuration and a relative DATA_DIR', () => {
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', S3_ENDPOINT: s3.S3_ENDPOINT, DATA_DIR: '/data' })).toThrow(/S3_SECRET_KEY: required when S3_ENDPOINT is set/);
    expect(() => loadBlobUploadConfig({ INTERNAL_TLS_DIR: '/etc/ocireg/tls', DATA_DIR: 'data' })).toThrow(/DATA_DIR: expected an absolute path/);
  });
});
