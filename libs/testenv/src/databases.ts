import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * A new, empty database on the server `databaseUrl` points to, for a test
 * that must not share tables with the others (a rebuild truncates, a replay
 * starts from nothing). Returns its URL.
 */
export async function createDatabase(databaseUrl: string, prefix = 'test'): Promise<string> {
  const name = `${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(5).toString('hex')}`;
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
