import { describe, expect, it } from 'vitest';
import { ConfigError } from '@ocireg/config';
import { accessStateBackend } from './backend';
import { accessMessage, parseAccessMessage } from './names';

describe('accessStateBackend', () => {
  it('picks Redis when REDIS_URL is set, even with DATABASE_URL', () => {
    expect(accessStateBackend({ REDIS_URL: 'redis://r:6379', DATABASE_URL: 'postgres://p/db' })).toEqual({ kind: 'redis', url: 'redis://r:6379' });
  });

  it('picks PostgreSQL at DATABASE_URL without REDIS_URL (embedded mode)', () => {
    expect(accessStateBackend({ DATABASE_URL: 'postgres://p/db', REDIS_URL: '' })).toEqual({ kind: 'postgres', url: 'postgres://p/db' });
  });

  it('refuses neither, naming both variables', () => {
    expect(() => accessStateBackend({})).toThrow(ConfigError);
    expect(() => accessStateBackend({})).toThrow(/REDIS_URL.*or DATABASE_URL.*required/);
  });
});

describe('access messages', () => {
  it('round-trip a subject and its epoch', () => {
    expect(parseAccessMessage(accessMessage('workspace:acme', 1_700_000_000_123))).toEqual({ subject: 'workspace:acme', epochMs: 1_700_000_000_123 });
  });

  it('reject malformed messages', () => {
    for (const bad of ['', 'user:1', 'user:1 soon', ' 123', 'user:1 0']) expect(parseAccessMessage(bad)).toBeUndefined();
  });
});
