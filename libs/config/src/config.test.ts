import { describe, expect, it } from 'vitest';
import { ConfigError, env, loadConfig, z } from './index';

const schema = z.object({ GRPC_PORT: env.port(50051), S3_SECRET_KEY: z.string().min(8), METADATA_ADDR: env.address() });

describe('loadConfig', () => {
  it('returns a typed frozen object with defaults applied', () => {
    const config = loadConfig(schema, { S3_SECRET_KEY: 'abcdefgh', METADATA_ADDR: '127.0.0.1:7000' });
    expect(config.GRPC_PORT).toBe(50051);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad variable and hides secret values', () => {
    try {
      loadConfig(schema, { GRPC_PORT: 'abc', S3_SECRET_KEY: 'short', METADATA_ADDR: 'nope' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toContain('GRPC_PORT');
      expect(message).toContain('METADATA_ADDR');
      expect(message).toContain('S3_SECRET_KEY');
      expect(message).not.toContain('short');
    }
  });

  it('accepts only absolute paths for env.absolutePath', () => {
    const paths = z.object({ DATA_DIR: env.absolutePath() });
    expect(loadConfig(paths, { DATA_DIR: '/var/lib/ocireg' }).DATA_DIR).toBe('/var/lib/ocireg');
    expect(() => loadConfig(paths, { DATA_DIR: 'data' })).toThrow(/DATA_DIR: expected an absolute path/);
  });
});
