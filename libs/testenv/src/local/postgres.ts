import { chownSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { postgresBinDir } from '../paths';
import { freePort, waitUntilReady, type ProcessGroup } from '../processes';
import { execFileAsync, runSetup, type StartedServer } from './server';

/** PostgreSQL refuses to run as root; when we are root it runs as the Debian `postgres` user. */
async function postgresIdentity(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const uid = Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

/** A throwaway cluster on 127.0.0.1 only (no unix socket), trust auth, with the database `ocireg`. */
export async function startPostgres(dir: string, group: ProcessGroup): Promise<StartedServer> {
  const bin = postgresBinDir();
  const dataDir = path.join(dir, 'postgres');
  rmSync(dataDir, { recursive: true, force: true }); // a reused workDir starts from scratch
  mkdirSync(dataDir, { recursive: true });
  const identity = await postgresIdentity();
  if (identity.uid !== undefined) chownSync(dataDir, identity.uid, identity.gid!);
  // cwd: the postgres user may not be allowed into ours.
  await runSetup('postgres', 'initdb', path.join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], { ...identity, cwd: dataDir });

  const port = await freePort();
  const settings = ['listen_addresses=127.0.0.1', 'unix_socket_directories=', 'fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'max_connections=200'];
  const server = group.start('postgres', path.join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), ...settings.flatMap((s) => ['-c', s])], {
    logFile: path.join(dir, 'postgres.log'),
    cwd: dataDir,
    ...identity,
  });
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitUntilReady(server, () => query(adminUrl, 'SELECT 1'), 30_000);
  await query(adminUrl, 'CREATE DATABASE ocireg');
  return { env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/ocireg` }, server };
}

async function query(url: string, sql: string): Promise<boolean> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(sql);
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}
