import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '@ocireg/testenv';

/** Distribution's storage: a directory, or a bucket of an S3 server (the same MinIO as ours). */
export type DistributionStorage =
  | { kind: 'filesystem' }
  | { kind: 's3'; endpoint: string; accessKey: string; secretKey: string; region: string; bucket: string };

export interface RunningDistribution {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * CNCF Distribution 2.8 (Debian's docker-registry), the reference, configured
 * as its packaged config.yml (blob descriptors cached in memory, deletes on),
 * without auth and access logs (ocireg logs at warn).
 */
export async function startDistribution(dir: string, storage: DistributionStorage): Promise<RunningDistribution> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', ...storageConfig(dir, storage), 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'));
  const log = openSync(path.join(dir, 'distribution.log'), 'a');
  // Its own environment: the AWS SDK in it refuses a custom CA bundle (AWS_CA_BUNDLE) with its transport, and loopback needs none.
  const child = spawn('docker-registry', ['serve', config], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/' }, stdio: ['ignore', log, log] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/v2/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const tail = readFileSync(path.join(dir, 'distribution.log'), 'utf8').trim().split('\n').slice(-40).join('\n');
      throw new Error(`docker-registry did not start:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function storageConfig(dir: string, storage: DistributionStorage): string[] {
  const common = ['storage:', '  cache:', '    blobdescriptor: inmemory', '  delete:', '    enabled: true'];
  if (storage.kind === 'filesystem') {
    const root = path.join(dir, 'data');
    mkdirSync(root, { recursive: true });
    return [...common, '  filesystem:', `    rootdirectory: ${root}`];
  }
  return [
    ...common,
    '  s3:',
    `    accesskey: ${storage.accessKey}`,
    `    secretkey: ${storage.secretKey}`,
    `    region: ${storage.region}`,
    `    regionendpoint: ${storage.endpoint}`,
    `    bucket: ${storage.bucket}`,
    '    secure: false',
    '    v4auth: true',
    '    rootdirectory: /distribution',
    // Pulls stream through the registry, as ocireg's do by default (its presigned redirects are off).
    '  redirect:',
    '    disable: true',
  ];
}
