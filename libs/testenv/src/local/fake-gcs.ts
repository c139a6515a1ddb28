import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fakeGcsServerBinary } from '../paths';
import { DependencyError, freePort, waitUntilReady, type ProcessGroup } from '../processes';
import type { StartedServer } from './server';

export const GCS_BUCKET = 'ocireg-blobs';
export const GCS_PROJECT_ID = 'ocireg-test';

/**
 * fake-gcs-server (built from its Go module) on 127.0.0.1 over plain HTTP,
 * with the bucket the services use, and a service account key file of a
 * fresh RSA key, as production's GOOGLE_APPLICATION_CREDENTIALS names: the SDK signs URLs with it
 * (the server serves signed URLs without checking their signature).
 */
export async function startFakeGcs(dir: string, group: ProcessGroup): Promise<StartedServer> {
  const binary = fakeGcsServerBinary();
  const port = await freePort();
  const dataDir = path.join(dir, 'fake-gcs');
  rmSync(dataDir, { recursive: true, force: true }); // a reused workDir starts from scratch
  mkdirSync(dataDir, { recursive: true });
  const endpoint = `http://127.0.0.1:${port}`;
  const launch = async () => {
    const args = ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'filesystem', '-filesystem-root', dataDir, '-public-host', `127.0.0.1:${port}`, '-external-url', endpoint, '-log-level', 'warn'];
    const server = group.start('gcs', binary, args, { logFile: path.join(dir, 'fake-gcs.log') });
    await waitUntilReady(server, async () => (await fetch(`${endpoint}/storage/v1/b`)).ok, 30_000);
    return server;
  };
  const server = await launch();

  const created = await fetch(`${endpoint}/storage/v1/b?project=${GCS_PROJECT_ID}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: GCS_BUCKET }) });
  if (!created.ok) throw new DependencyError('gcs', `creating bucket ${GCS_BUCKET} failed: ${created.status} ${await created.text()}`, server.logFile);
  return {
    env: { GCS_ENDPOINT: endpoint, GCS_BUCKET, GCS_PROJECT_ID, GOOGLE_APPLICATION_CREDENTIALS: writeServiceAccountKey(dir) },
    server,
    relaunch: launch,
  };
}

/** Writes <dir>/gcs-key.json, a service account key as Google's console hands it out, of a key made here (nothing is ever sent to Google); returns its path. */
export function writeServiceAccountKey(dir: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = {
    type: 'service_account',
    project_id: GCS_PROJECT_ID,
    private_key_id: 'ocireg-test',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: `ocireg@${GCS_PROJECT_ID}.iam.gserviceaccount.com`,
    client_id: '1',
  };
  const file = path.join(dir, 'gcs-key.json');
  writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  return file;
}
