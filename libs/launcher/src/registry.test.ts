import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRegistry } from './registry';

describe('startRegistry', () => {
  it('refuses, before starting anything, a LOG_LEVEL that would hide the line the indexer is ready by', async () => {
    const logDir = path.join(tmpdir(), `ocireg-devstack-${process.pid}-${Date.now()}`);
    await expect(startRegistry({ dependencyEnv: {}, logDir, extraEnv: { LOG_LEVEL: 'warn' } })).rejects.toThrow(/LOG_LEVEL=warn hides the indexer's readiness line/);
    expect(existsSync(logDir)).toBe(false);
  });
});
