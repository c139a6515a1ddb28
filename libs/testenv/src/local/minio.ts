import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'minio';
import { minioBinary } from '../paths';
import { DependencyError, freePort, waitUntilReady, type ProcessGroup } from '../processes';
import type { StartedServer } from './server';

export const S3_BUCKET = 'ocireg-blobs';
export const S3_REGION = 'us-east-1';

/** MinIO on 127.0.0.1 with a fresh secret and the bucket the services use. */
export async function startMinio(dir: string, group: ProcessGroup): Promise<StartedServer> {
  const binary = minioBinary();
  const [port, consolePort] = [await freePort(), await freePort()];
  const accessKey = 'ocireg-test';
  const secretKey = randomBytes(16).toString('hex');
  const dataDir = path.join(dir, 'minio');
  rmSync(dataDir, { recursive: true, force: true }); // a reused workDir starts from scratch
  mkdirSync(dataDir, { recursive: true });
  const endpoint = `http://127.0.0.1:${port}`;
  const launch = async () => {
    const server = group.start('minio', binary, ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'], {
      logFile: path.join(dir, 'minio.log'),
      env: { ...process.env, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
    });
    await waitUntilReady(server, async () => (await fetch(`${endpoint}/minio/health/ready`)).ok, 30_000);
    return server;
  };
  const server = await launch();

  const client = new Client({ endPoint: '127.0.0.1', port, useSSL: false, accessKey, secretKey, pathStyle: true, region: S3_REGION });
  await client.makeBucket(S3_BUCKET, S3_REGION).catch((err: Error) => {
    throw new DependencyError('minio', `creating bucket ${S3_BUCKET} failed: ${err.message}`, server.logFile);
  });
  return {
    env: { S3_ENDPOINT: endpoint, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey, S3_BUCKET, S3_REGION },
    server,
    relaunch: launch,
  };
}
