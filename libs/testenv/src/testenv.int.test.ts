import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Client as MinioClient } from 'minio';
import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedVersions, startDependencies, STORAGE_EMULATORS, type StartedDependencies } from './index';

const execFileAsync = promisify(execFile);

/** True when something accepts a connection on host:port (or on a unix socket path). */
function accepts(target: { host: string; port: number } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target as never);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `text` (to find leftovers of a failed start). */
function processesMentioning(text: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return cmdline.includes(text) ? [cmdline] : [];
      } catch {
        return [];
      }
    });
}

// Starts its own full set (the integration project's global setup has another),
// uses each server for real, then checks that stop() leaves nothing running.
describe('startDependencies with local processes', () => {
  let deps: StartedDependencies;

  beforeAll(async () => {
    const began = Date.now();
    deps = await startDependencies({ log: (line) => console.log(`[testenv] ${line}`) });
    console.log(`[testenv] all five ready in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  }, 180_000);

  afterAll(async () => {
    await deps?.stop(); // a no-op after the stop() test; the cleanup when an earlier test failed
  }, 60_000);

  it('hands out exactly the variables production reads', () => {
    expect(Object.keys(deps.env).sort()).toEqual(
      ['DATABASE_URL', 'DOCKER_HOST', 'KAFKA_BROKERS', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_BUCKET', 'S3_ENDPOINT', 'S3_REGION', 'S3_SECRET_KEY'].sort(),
    );
    expect(deps.env.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@127\.0\.0\.1:\d+\/ocireg$/);
    expect(deps.env.REDIS_URL).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(deps.env.KAFKA_BROKERS).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(deps.env.S3_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(deps.env).toMatchObject({ S3_BUCKET: 'ocireg-blobs', S3_REGION: 'us-east-1' });
    expect(deps.env.DOCKER_HOST).toMatch(/^unix:\/\/\/.+\.sock$/);
  });

  it('PostgreSQL answers SQL in the ocireg database', async () => {
    const client = new PgClient({ connectionString: deps.env.DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ one: number; db: string }>('SELECT 1 AS one, current_database() AS db');
      expect(rows[0]).toEqual({ one: 1, db: 'ocireg' });
    } finally {
      await client.end();
    }
  });

  it('Redis stores and returns a value', async () => {
    const redis = new Redis(deps.env.REDIS_URL!);
    try {
      await redis.set('testenv:key', 'value');
      expect(await redis.get('testenv:key')).toBe('value');
    } finally {
      await redis.quit();
    }
  });

  it('Kafka delivers a produced message to a consumer', async () => {
    const kafka = new Kafka({ brokers: deps.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    const topic = `testenv-${Date.now()}`;
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    try {
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello kafka' }] });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message within 60 s')), 60_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve(message.value!.toString());
          },
        });
      });
      expect(received).toBe('hello kafka');
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
  }, 90_000);

  it('MinIO stores and returns an object in the bucket', async () => {
    const url = new URL(deps.env.S3_ENDPOINT!);
    const client = new MinioClient({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      accessKey: deps.env.S3_ACCESS_KEY!,
      secretKey: deps.env.S3_SECRET_KEY!,
      region: deps.env.S3_REGION!,
      pathStyle: true,
    });
    await client.putObject(deps.env.S3_BUCKET!, 'testenv/object', Buffer.from('stored'));
    const chunks: Buffer[] = [];
    for await (const chunk of await client.getObject(deps.env.S3_BUCKET!, 'testenv/object')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('stored');
  });

  it('dockerd answers the docker CLI', async () => {
    const { stdout } = await execFileAsync('docker', ['--host', deps.env.DOCKER_HOST!, 'info', '--format', '{{.Driver}}']);
    expect(stdout.trim()).toBe('vfs');
  });

  it('stop() ends every server: ports closed, processes gone', async () => {
    const ports = [deps.env.DATABASE_URL!, deps.env.REDIS_URL!, `tcp://${deps.env.KAFKA_BROKERS!}`, deps.env.S3_ENDPOINT!].map((u) => Number(new URL(u).port));
    const socket = deps.env.DOCKER_HOST!.replace('unix://', '');
    const pids = Object.values(deps.pids);
    expect(pids).toHaveLength(5);
    for (const port of ports) expect(await accepts({ host: '127.0.0.1', port })).toBe(true);
    expect(await accepts({ path: socket })).toBe(true);

    await deps.stop();

    for (const port of ports) expect(await accepts({ host: '127.0.0.1', port }), `port ${port}`).toBe(false);
    expect(existsSync(path.dirname(socket))).toBe(false); // dockerd's root is removed with it
    for (const pid of pids) expect(alive(pid!), `pid ${pid}`).toBe(false);
  }, 60_000);
});

describe('the storage emulators (Azurite, fake-gcs-server)', () => {
  it('hand out the azure and gcs variables, keep to their own key, and stop at once (no telemetry holding Azurite up) leaving nothing running', async () => {
    const deps = await startDependencies({ only: STORAGE_EMULATORS });
    try {
      expect(Object.keys(deps.env).sort()).toEqual(
        ['AZURE_STORAGE_ACCOUNT', 'AZURE_STORAGE_CONTAINER', 'AZURE_STORAGE_ENDPOINT', 'AZURE_STORAGE_KEY', 'GCS_BUCKET', 'GCS_ENDPOINT', 'GCS_PROJECT_ID', 'GOOGLE_APPLICATION_CREDENTIALS'].sort(),
      );
      for (const endpoint of [deps.env.AZURE_STORAGE_ENDPOINT!, deps.env.GCS_ENDPOINT!]) expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      const container = (key: string) => new BlobServiceClient(deps.env.AZURE_STORAGE_ENDPOINT!, new StorageSharedKeyCredential(deps.env.AZURE_STORAGE_ACCOUNT!, key)).getContainerClient(deps.env.AZURE_STORAGE_CONTAINER!);
      expect(await container(deps.env.AZURE_STORAGE_KEY!).exists()).toBe(true);
      await expect(container(Buffer.alloc(32).toString('base64')).exists()).rejects.toMatchObject({ statusCode: 403 });
      const buckets = (await (await fetch(`${deps.env.GCS_ENDPOINT}/storage/v1/b`)).json()) as { items: Array<{ name: string }> };
      expect(buckets.items.map((bucket) => bucket.name)).toContain(deps.env.GCS_BUCKET);
      expect(JSON.parse(readFileSync(deps.env.GOOGLE_APPLICATION_CREDENTIALS!, 'utf8'))).toMatchObject({ type: 'service_account', private_key: expect.stringContaining('PRIVATE KEY') });
    } finally {
      const pids = Object.values(deps.pids);
      const stopping = Date.now();
      await deps.stop();
      expect(Date.now() - stopping).toBeLessThan(5000);
      for (const pid of pids) expect(alive(pid!), `pid ${pid}`).toBe(false);
    }
  }, 60_000);
});

describe('startDependencies failures', () => {
  it('names the dependency, shows the end of its log and stops the others', async () => {
    // A cache whose "minio" starts and dies at once, next to a real Redis.
    const cache = mkdtempSync(path.join(tmpdir(), 'ocireg-fake-cache-'));
    const workDir = mkdtempSync(path.join(tmpdir(), 'ocireg-failing-'));
    const fake = path.join(cache, `minio-${pinnedVersions().minio}`);
    mkdirSync(fake);
    writeFileSync(path.join(fake, 'minio'), '#!/bin/sh\necho "fake minio: disk on fire"\nexit 3\n', { mode: 0o755 });
    const previous = process.env.OCIREG_CACHE;
    process.env.OCIREG_CACHE = cache;
    try {
      const failure = await startDependencies({ only: ['redis', 'minio'], workDir }).then(
        () => new Error('expected a failure'),
        (err: Error) => err,
      );
      expect(failure.message).toMatch(/^minio: exited \(3\) before it was ready/);
      expect(failure.message).toContain('fake minio: disk on fire');
      expect(processesMentioning(workDir)).toEqual([]); // Redis was stopped too
    } finally {
      if (previous === undefined) delete process.env.OCIREG_CACHE;
      else process.env.OCIREG_CACHE = previous;
      rmSync(cache, { recursive: true, force: true });
      rmSync(workDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('says how to install what is missing', async () => {
    const previous = process.env.OCIREG_CACHE;
    process.env.OCIREG_CACHE = path.join(tmpdir(), 'ocireg-no-such-cache');
    try {
      await expect(startDependencies({ only: ['kafka'] })).rejects.toThrow(/^kafka: Kafka .* is not installed: run bash scripts\/deps\/install\.sh/);
    } finally {
      if (previous === undefined) delete process.env.OCIREG_CACHE;
      else process.env.OCIREG_CACHE = previous;
    }
  });
});
