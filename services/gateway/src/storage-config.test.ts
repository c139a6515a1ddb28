import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from './config';

const required = { INTERNAL_TLS_DIR: '/etc/ocireg/tls', AUTH_ADDR: 'a:1', METADATA_ADDR: 'm:2', BLOB_UPLOAD_ADDR: 'b:3', INDEXER_ADDR: 'i:4', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('gateway blob storage config', () => {
  it('reads blobs from DATA_DIR when S3 is not configured', () => {
    const config = loadGatewayConfig({ ...required, DATA_DIR: '/var/lib/ocireg' });
    expect(config.DATA_DIR).toBe('/var/lib/ocireg');
    expect(config.S3_ENDPOINT).toBeUndefined();
  });

  it('names both options when neither S3_ENDPOINT nor DATA_DIR is set', () => {
    expect(() => loadGatewayConfig(required)).toThrow(/S3_ENDPOINT: .*DATA_DIR/);
  });
});
