import { describe, expect, it } from 'vitest';
import { ConfigError } from '@ocireg/config';
import { loadGatewayConfig } from './config';

const base = {
  INTERNAL_TLS_DIR: '/etc/ocireg/tls',
  AUTH_ADDR: 'auth:50051',
  METADATA_ADDR: 'metadata:50052',
  BLOB_UPLOAD_ADDR: 'blob-upload:50053',
  INDEXER_ADDR: 'indexer:50054',
  WEBHOOKS_ADDR: 'webhooks:50055',
  S3_ENDPOINT: 'http://minio:9000',
  S3_ACCESS_KEY: 'access',
  S3_SECRET_KEY: 'secret-key',
  S3_BUCKET: 'blobs',
};

describe('gateway config: where revocations and access changes come from', () => {
  it('takes REDIS_URL alone (production)', () => {
    expect(loadGatewayConfig({ ...base, REDIS_URL: 'redis://redis:6379' }).REDIS_URL).toBe('redis://redis:6379');
  });

  it('takes DATABASE_URL alone (embedded mode)', () => {
    const config = loadGatewayConfig({ ...base, DATABASE_URL: 'postgres://u:p@db:5432/ocireg' });
    expect(config.DATABASE_URL).toBe('postgres://u:p@db:5432/ocireg');
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('refuses neither with an error naming both variables', () => {
    expect(() => loadGatewayConfig(base)).toThrow(ConfigError);
    expect(() => loadGatewayConfig(base)).toThrow(/REDIS_URL.*DATABASE_URL.*required/);
  });
});

describe('gateway config: an empty variable counts as unset', () => {
  it('takes an empty REDIS_URL as unset, so DATABASE_URL is used', () => {
    const config = loadGatewayConfig({ ...base, REDIS_URL: '', DATABASE_URL: 'postgres://u:p@db:5432/ocireg' });
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('still refuses both empty', () => {
    expect(() => loadGatewayConfig({ ...base, REDIS_URL: '', DATABASE_URL: '' })).toThrow(/REDIS_URL.*DATABASE_URL.*required/);
  });

  it('still refuses a REDIS_URL that is not a URL', () => {
    expect(() => loadGatewayConfig({ ...base, REDIS_URL: 'not a url' })).toThrow(/REDIS_URL/);
  });
});

describe('gateway config: trusted proxies', () => {
  it('takes addresses and CIDRs, and refuses anything else naming the variable', () => {
    const config = loadGatewayConfig({ ...base, REDIS_URL: 'redis://r:6379', TRUSTED_PROXY_CIDRS: '10.0.0.0/8, 192.168.1.7,fd00::/8' });
    expect(config.TRUSTED_PROXY_CIDRS).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    expect(loadGatewayConfig({ ...base, REDIS_URL: 'redis://r:6379' }).TRUSTED_PROXY_CIDRS).toEqual([]);
    expect(() => loadGatewayConfig({ ...base, REDIS_URL: 'redis://r:6379', TRUSTED_PROXY_CIDRS: '10.0.0.0/33' })).toThrow(/TRUSTED_PROXY_CIDRS/);
    expect(() => loadGatewayConfig({ ...base, REDIS_URL: 'redis://r:6379', TRUSTED_PROXY_CIDRS: 'everyone' })).toThrow(/TRUSTED_PROXY_CIDRS/);
  });

  it('needs the internal TLS directory', () => {
    const { INTERNAL_TLS_DIR: _, ...without } = base;
    expect(() => loadGatewayConfig({ ...without, REDIS_URL: 'redis://r:6379' })).toThrow(/INTERNAL_TLS_DIR/);
  });
});

describe('gateway config: the pull-through cache', () => {
  const redis = { ...base, REDIS_URL: 'redis://redis:6379' };

  it('maps mirrored registries to "<workspace>/<upstream>"', () => {
    const config = loadGatewayConfig({ ...redis, UPSTREAM_MIRRORS: 'docker.io=acme/hub, ghcr.io=acme/ghcr' });
    expect(config.UPSTREAM_MIRRORS).toEqual({ 'docker.io': 'acme/hub', 'ghcr.io': 'acme/ghcr' });
    expect(loadGatewayConfig(redis).UPSTREAM_MIRRORS).toEqual({});
    expect(loadGatewayConfig(redis).UPSTREAM_TIMEOUT_SECONDS).toBe(10);
  });

  it('maps mirror hosts (dockerd registry-mirrors) to "<workspace>/<upstream>", lower-cased', () => {
    const config = loadGatewayConfig({ ...redis, UPSTREAM_MIRROR_HOSTS: 'Mirror.Example.com=acme/hub,127.0.0.2:5000=acme/ghcr' });
    expect(config.UPSTREAM_MIRROR_HOSTS).toEqual({ 'mirror.example.com': 'acme/hub', '127.0.0.2:5000': 'acme/ghcr' });
    expect(loadGatewayConfig(redis).UPSTREAM_MIRROR_HOSTS).toEqual({});
    expect(() => loadGatewayConfig({ ...redis, UPSTREAM_MIRROR_HOSTS: 'https://mirror.example.com=acme/hub' })).toThrow(/UPSTREAM_MIRROR_HOSTS.*<host>=<workspace>\/<upstream>/);
  });

  it('refuses a mirror that names no upstream, naming the variable', () => {
    expect(() => loadGatewayConfig({ ...redis, UPSTREAM_MIRRORS: 'docker.io=acme' })).toThrow(/UPSTREAM_MIRRORS.*<registry>=<workspace>\/<upstream>/);
    expect(() => loadGatewayConfig({ ...redis, UPSTREAM_TIMEOUT_SECONDS: '0' })).toThrow(/UPSTREAM_TIMEOUT_SECONDS/);
  });
});
