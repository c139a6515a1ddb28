import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { DependencyError, freePort, waitUntilReady, type ProcessGroup } from '../processes';
import type { StartedServer } from './server';

export const AZURE_ACCOUNT = 'ocireg';
export const AZURE_CONTAINER = 'ocireg-blobs';

/**
 * Azurite's blob service (the npm package `azurite`) on 127.0.0.1, with an
 * account of its own under a fresh key and the container the services use.
 * Without its telemetry, which would send to an address outside loopback and
 * keeps the process alive after SIGTERM.
 */
export async function startAzurite(dir: string, group: ProcessGroup): Promise<StartedServer> {
  const main = azuriteBlobMain();
  const port = await freePort();
  const key = randomBytes(32).toString('base64');
  const dataDir = path.join(dir, 'azurite');
  rmSync(dataDir, { recursive: true, force: true }); // a reused workDir starts from scratch
  mkdirSync(dataDir, { recursive: true });
  const endpoint = `http://127.0.0.1:${port}/${AZURE_ACCOUNT}`;
  const launch = async () => {
    const server = group.start('azurite', process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', dataDir, '--silent', '--skipApiVersionCheck', '--disableTelemetry'], {
      logFile: path.join(dir, 'azurite.log'),
      env: { ...process.env, AZURITE_ACCOUNTS: `${AZURE_ACCOUNT}:${key}` },
    });
    // Any answer (an unauthenticated request is refused) means it listens.
    await waitUntilReady(server, async () => (await fetch(`${endpoint}?comp=list`)).status > 0, 30_000);
    return server;
  };
  const server = await launch();

  const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(AZURE_ACCOUNT, key));
  await service.getContainerClient(AZURE_CONTAINER).createIfNotExists().catch((err: Error) => {
    throw new DependencyError('azurite', `creating container ${AZURE_CONTAINER} failed: ${err.message}`, server.logFile);
  });
  return {
    env: { AZURE_STORAGE_ENDPOINT: endpoint, AZURE_STORAGE_ACCOUNT: AZURE_ACCOUNT, AZURE_STORAGE_KEY: key, AZURE_STORAGE_CONTAINER: AZURE_CONTAINER },
    server,
    relaunch: launch,
  };
}

/** Azurite's blob service, from the workspace's dev dependencies (production installs leave it out). */
function azuriteBlobMain(): string {
  try {
    return path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
  } catch {
    throw new DependencyError('azurite', 'the npm package azurite is not installed: run pnpm install (with dev dependencies)');
  }
}
