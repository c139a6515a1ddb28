import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@ocireg/launcher';
import { shippedMajorVersion, startEmbeddedPostgres } from './embedded-postgres';

// As root the server runs as user "postgres", which must be able to enter the directory.
const root = mkdtempSync(path.join(tmpdir(), 'ocireg-embedded-pg-'));
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL', () => {
  it('initialises once, and a table written before a stop is there after the next start', async () => {
    const dataDir = path.join(root, 'persist', 'postgres');
    const logFile = path.join(root, 'persist', 'logs', 'postgres.log');

    const first = await startEmbeddedPostgres({ dataDir, password: 'first-password', logFile });
    try {
      expect(first.initialised).toBe(true);
      expect(first.url).toMatch(/^postgres:\/\/postgres:first-password@127\.0\.0\.1:\d+\/ocireg$/);
      await query(first.url, "CREATE TABLE kept (name text); INSERT INTO kept VALUES ('survives a restart')");
    } finally {
      await first.stop();
    }
    expect(readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim()).toBe(String(shippedMajorVersion()));
    await expect(query(first.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);

    const port = await freePort();
    const second = await startEmbeddedPostgres({ dataDir, password: 'first-password', logFile, port });
    try {
      expect(second.initialised).toBe(false);
      expect(second.port).toBe(port);
      expect(await query(second.url, 'SELECT name FROM kept')).toEqual([{ name: 'survives a restart' }]);
      // Only loopback TCP: the server was started with listen_addresses=127.0.0.1.
      expect(await query(second.url, 'SHOW listen_addresses')).toEqual([{ listen_addresses: '127.0.0.1' }]);
    } finally {
      await second.stop();
    }
    expect(readFileSync(logFile, 'utf8')).toContain('database system is ready to accept connections');
  });

  it('refuses a second server on the same data directory, naming the running one', async () => {
    const dataDir = path.join(root, 'twice', 'postgres');
    const logFile = path.join(root, 'twice', 'pg.log');
    const first = await startEmbeddedPostgres({ dataDir, password: 'pw', logFile });
    try {
      await expect(startEmbeddedPostgres({ dataDir, password: 'pw', logFile })).rejects.toThrow(`another PostgreSQL (pid ${first.pid}) is running on ${dataDir}`);
      // The first one is untouched.
      expect(await query(first.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await first.stop();
    }
  });

  it('stop() returns when postgres already stopped on its own (a terminal Ctrl-C reaches it too)', async () => {
    const dataDir = path.join(root, 'ctrl-c', 'postgres');
    const running = await startEmbeddedPostgres({ dataDir, password: 'pw', logFile: path.join(root, 'ctrl-c', 'pg.log') });
    process.kill(running.pid!, 'SIGINT');
    await expect.poll(() => existsSync(path.join(dataDir, 'postmaster.pid')), { timeout: 10_000 }).toBe(false);
    await running.stop();
  });

  it('says so when the port is taken', async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startEmbeddedPostgres({ dataDir: path.join(root, 'port', 'postgres'), password: 'x', logFile: path.join(root, 'port', 'pg.log'), port })).rejects.toThrow(
        new RegExp(`port ${port} on 127.0.0.1 is already in use`),
      );
    } finally {
      blocker.close();
    }
  });

  it('refuses a data directory of another PostgreSQL version, naming both versions', async () => {
    const dataDir = path.join(root, 'old', 'postgres');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'PG_VERSION'), '12\n');
    await expect(startEmbeddedPostgres({ dataDir, password: 'x', logFile: path.join(root, 'old', 'pg.log') })).rejects.toThrow(
      `holds a PostgreSQL 12 cluster, but the embedded PostgreSQL is version ${shippedMajorVersion()}`,
    );
  });

  it('refuses a non-empty directory that is not a cluster instead of initialising over it', async () => {
    const dataDir = path.join(root, 'other', 'postgres');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'notes.txt'), 'mine');
    await expect(startEmbeddedPostgres({ dataDir, password: 'x', logFile: path.join(root, 'other', 'pg.log') })).rejects.toThrow(/not a PostgreSQL data directory/);
  });
});
