import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { freePort } from '@ocireg/testenv';

/** A CNCF Distribution (Debian's docker-registry) with htpasswd auth and an access log: the upstream of the pull-through tests. */
export interface UpstreamRegistry {
  url: string;
  host: string;
  username: string;
  password: string;
  /** Basic credentials for pushing to it directly. */
  authorization: string;
  /** Lines of its access log (one per request) matching `pattern`. */
  accessLines(pattern: RegExp): string[];
  stop(): Promise<void>;
  /** Starts it again on the same port and data (after stop). */
  start(): Promise<void>;
  /** Pushes a blob (POST, then PUT with the bytes) and returns its descriptor. */
  pushBlob(repository: string, bytes: Buffer, mediaType?: string): Promise<{ mediaType: string; digest: string; size: number }>;
  /** A small image (config and one layer of `layerSize` random bytes, or the given layer) under a tag; returns the manifest digest. */
  pushImage(repository: string, tag: string, layer?: { mediaType: string; digest: string; size: number }): Promise<string>;
}

export async function startUpstreamRegistry(dir: string): Promise<UpstreamRegistry> {
  const port = await freePort();
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const username = 'mirror';
  const password = `upstream-${randomBytes(12).toString('hex')}`;
  writeFileSync(path.join(dir, 'htpasswd'), `${username}:${bcrypt.hashSync(password, 8)}\n`);
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  formatter: text',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'auth:',
      '  htpasswd:',
      '    realm: upstream',
      `    path: ${path.join(dir, 'htpasswd')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const logFile = path.join(dir, 'distribution.log');
  const url = `http://127.0.0.1:${port}`;
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  let child: ReturnType<typeof spawn> | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const log = openSync(logFile, 'a');
    child = spawn('docker-registry', ['serve', config], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/' }, stdio: ['ignore', log, log] });
    const running = child;
    exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${url}/v2/`, { headers: { Authorization: authorization } })).ok) return;
      } catch {
        // not listening yet
      }
      if (running.exitCode !== null || Date.now() > deadline) {
        running.kill('SIGKILL');
        throw new Error(`docker-registry did not start:\n${readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const pushBlob = async (repository: string, bytes: Buffer, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip') => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const started = await fetch(`${url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: { Authorization: authorization } });
    if (started.status !== 202) throw new Error(`upload start: ${started.status} ${await started.text()}`);
    const location = new URL(started.headers.get('location')!, url);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', headers: { Authorization: authorization, 'Content-Type': 'application/octet-stream' }, body: bytes });
    if (put.status !== 201) throw new Error(`blob PUT: ${put.status} ${await put.text()}`);
    return { mediaType, digest, size: bytes.length };
  };

  await start();
  return {
    url,
    host: `127.0.0.1:${port}`,
    username,
    password,
    authorization,
    accessLines: (pattern) =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"http.request.method') || / HTTP\/1\.1" \d{3} /.test(line))
        .filter((line) => pattern.test(line)),
    async stop() {
      if (child && child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    start,
    pushBlob,
    async pushImage(repository, tag, layer) {
      const config = await pushBlob(repository, Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', created: new Date().toISOString(), rootfs: { type: 'layers', diff_ids: [] }, tag })), 'application/vnd.oci.image.config.v1+json');
      const layers = [layer ?? (await pushBlob(repository, randomBytes(4096)))];
      const document = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers };
      const response = await fetch(`${url}/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { Authorization: authorization, 'Content-Type': document.mediaType }, body: JSON.stringify(document) });
      if (response.status !== 201) throw new Error(`manifest PUT: ${response.status} ${await response.text()}`);
      return response.headers.get('docker-content-digest')!;
    },
  };
}
