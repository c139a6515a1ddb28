import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'minio';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry, ServiceName } from '@ocireg/devstack';
import { startDependencies, type StartedDependencies } from '@ocireg/testenv';
import { basicAuth, loginNewWorkspace, newWorkspace, run, startTestRegistry, tempDir } from './helpers';
import { azureStore, gcsStore, type ObjectStore, notInThisMode } from './object-stores';
import { halfwayPatch } from './halfway-patch';
import { OciHttp } from './oci-http';
import { pollUntil } from './polling';

/**
 * The blob data plane under failure: a process killed in the middle of a
 * push, the same digest uploaded by many at once or pulled while uploaded
 * again, the object store going away. On each storage backend, each on
 * storage of its own, so "nothing left behind" can look at everything stored.
 * Azure and GCS run the cases that depend on the backend (a kill mid-push,
 * one copy of a digest pushed at once, ranged pulls, signed-URL redirects);
 * MinIO and the filesystem every case.
 */

const MiB = 1024 * 1024;
const TIME_LIMIT_SECONDS = 5;

const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface Storage {
  /** Every object stored, and what is not an object yet: S3's unfinished multipart uploads ("multipart <key>"), Azure's uncommitted blobs ("uncommitted <key>"). */
  contents(): Promise<string[]>;
}

/** What uploads hold before they are blobs: upload files, tails and parts, unfinished multipart uploads, uncommitted blocks. */
const ofUploads = (key: string) => key.startsWith('uploads/') || key.startsWith('multipart ') || key.startsWith('uncommitted ');

function s3Storage(env: Record<string, string>): Storage {
  const url = new URL(env.S3_ENDPOINT!);
  const client = new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, accessKey: env.S3_ACCESS_KEY!, secretKey: env.S3_SECRET_KEY!, pathStyle: true });
  return {
    async contents() {
      const found: string[] = [];
      for await (const item of client.listObjectsV2(env.S3_BUCKET!, '', true)) found.push(item.name!);
      for await (const item of client.listIncompleteUploads(env.S3_BUCKET!, '', true)) found.push(`multipart ${item.key}`);
      return found.sort();
    },
  };
}

function fsStorage(dataDir: string): Storage {
  const objects = path.join(dataDir, 'blobs', 'objects');
  return {
    async contents() {
      const entries = readdirSync(objects, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
      return entries.map((entry) => path.relative(objects, path.join(entry.parentPath, entry.name))).sort();
    },
  };
}

interface StartedStorage {
  env: Record<string, string>;
  storage: Storage;
  stop(): Promise<void>;
}

/** A container or bucket of its own in the shared Azurite or fake-gcs-server, and a Redis of its own (see the S3 mode). */
async function objectStoreMode(store: ObjectStore): Promise<StartedStorage> {
  const own = await startDependencies({ only: ['redis'] });
  return { env: { ...own.env, ...store.env }, storage: { contents: () => store.contents() }, stop: () => own.stop() };
}

const MODES: Array<{ mode: string; start(): Promise<StartedStorage>; kills: ServiceName[]; everyCase: boolean }> = [
  {
    mode: 'S3 (MinIO)',
    // An object store of its own: everything in it is this file's. And a Redis of its own: upload
    // sessions are listed there for the sweeper, and another test's registry sweeping this one's
    // abandoned sessions would free them in its own store, leaving this one's behind.
    async start() {
      const own = await startDependencies({ only: ['minio', 'redis'] });
      return { env: { ...own.env, STORAGE_BACKEND: 's3' }, storage: s3Storage(own.env), stop: () => own.stop() };
    },
    kills: ['gateway', 'blob-upload', 'metadata'],
    everyCase: true,
  },
  {
    mode: 'filesystem',
    async start() {
      const dataDir = tempDir('data-plane');
      const own = await startDependencies({ only: ['redis'] });
      return { env: { ...own.env, STORAGE_BACKEND: 'filesystem', DATA_DIR: dataDir }, storage: fsStorage(dataDir), stop: () => own.stop() };
    },
    kills: ['gateway', 'blob-upload', 'metadata'],
    everyCase: true,
  },
  { mode: 'Azure Blob Storage (Azurite)', start: () => objectStoreMode(azureStore('data-plane')), kills: ['gateway'], everyCase: false },
  { mode: 'Google Cloud Storage (fake-gcs-server)', start: () => objectStoreMode(gcsStore('data-plane')), kills: ['gateway'], everyCase: false },
];

describe.each(MODES)('data plane on $mode', ({ start, kills, everyCase }) => {
  let started: StartedStorage;
  let registry: RunningRegistry;
  let storage: Storage;
  let repository: string;
  let headers: Record<string, string>;
  let database: pg.Pool;

  beforeAll(async () => {
    started = await start();
    storage = started.storage;
    registry = await startTestRegistry({ ...started.env, UPLOAD_TIME_LIMIT_SECONDS: String(TIME_LIMIT_SECONDS), UPLOAD_SWEEP_INTERVAL_SECONDS: '1', UPLOAD_PART_SIZE: String(5 * MiB) });
    const workspace = await newWorkspace(registry, 'dp');
    repository = `${workspace.slug}/data`;
    headers = { Authorization: basicAuth(workspace.admin) };
    database = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    await started?.stop();
    await database?.end();
  });

  async function startUpload(): Promise<string> {
    const response = await fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
    expect(response.status).toBe(202);
    return new URL(response.headers.get('location')!, registry.gatewayUrl).toString();
  }

  /** The whole upload as docker and crane do it: POST, PATCHes with Content-Range, PUT ?digest. */
  async function pushBlob(data: Buffer, chunkSize = 5 * MiB): Promise<Response> {
    let location = await startUpload();
    for (let offset = 0; offset < data.length; offset += chunkSize) {
      const chunk = data.subarray(offset, offset + chunkSize);
      const response = await fetch(location, {
        method: 'PATCH',
        headers: { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.length - 1}` },
        body: chunk,
      });
      if (response.status !== 202) return response;
      location = new URL(response.headers.get('location')!, registry.gatewayUrl).toString();
    }
    const url = new URL(location);
    url.searchParams.set('digest', digestOf(data));
    return fetch(url, { method: 'PUT', headers });
  }

  async function pull(digest: string): Promise<{ status: number; digest?: string }> {
    const response = await fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/${digest}`, { headers });
    if (response.status !== 200) {
      await response.arrayBuffer();
      return { status: response.status };
    }
    return { status: 200, digest: digestOf(Buffer.from(await response.arrayBuffer())) };
  }

  /** A pull of bytes first..last (inclusive), as a client resuming a layer asks: the status, Content-Range and the bytes' digest. */
  async function pullRange(digest: string, first: number, last: number): Promise<{ status: number; range: string | null; digest: string }> {
    const response = await fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/${digest}`, { headers: { ...headers, Range: `bytes=${first}-${last}` } });
    return { status: response.status, range: response.headers.get('content-range'), digest: digestOf(Buffer.from(await response.arrayBuffer())) };
  }

  /** Storage keys metadata names for blobs (this storage's keys are unique to it: upload ids, or digests of random bytes). */
  async function referencedKeys(): Promise<Set<string>> {
    const { rows } = await database.query<{ storage_key: string }>('SELECT storage_key FROM blobs');
    return new Set(rows.map((row) => row.storage_key));
  }

  /** Waits until the store holds only blobs that metadata references (abandoned sessions swept), and returns what it holds. */
  async function expectNothingLeftBehind(): Promise<string[]> {
    const unreferenced = async () => {
      const referenced = await referencedKeys();
      return (await storage.contents()).filter((key) => !referenced.has(key));
    };
    const left = await pollUntil(unreferenced, (keys) => keys.length === 0, (TIME_LIMIT_SECONDS + 8) * 1000, 250).catch(async () => unreferenced());
    expect(left).toEqual([]);
    return storage.contents();
  }

  it.each<ServiceName>(kills)(
    'kill -9 of %s in the middle of a push: the retry completes with the right digest (pulled whole and by Range), and nothing is left behind',
    async (service) => {
      const data = randomBytes(23 * MiB + 11);
      const digest = digestOf(data);
      const location = await startUpload();
      const patch = halfwayPatch(location, headers, data.subarray(0, 12 * MiB), data.subarray(12 * MiB));
      // Parts are on their way to storage when the process dies.
      await new Promise((resolve) => setTimeout(resolve, 400));
      process.kill(registry.pid(service)!, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const interrupted = await patch.finish();
      await registry.restart(service);
      // Whatever the interrupted request answered, it never claims a finished blob.
      expect(interrupted === 202 || interrupted instanceof Error || interrupted >= 500).toBe(true);

      // The client's retry: a fresh upload of the whole blob.
      const retried = await pushBlob(data);
      expect(retried.status).toBe(201);
      expect(retried.headers.get('docker-content-digest')).toBe(digest);
      expect(await pull(digest)).toEqual({ status: 200, digest });
      const stored = await expectNothingLeftBehind();
      expect(stored.filter(ofUploads)).toEqual([]);
      expect(await pull(digest)).toEqual({ status: 200, digest });
      // Across part boundaries (5 MiB), and up to the last byte.
      const [first, last] = [5 * MiB - 7, 17 * MiB + 3];
      expect(await pullRange(digest, first, last)).toEqual({ status: 206, range: `bytes ${first}-${last}/${data.length}`, digest: digestOf(data.subarray(first, last + 1)) });
      expect(await pullRange(digest, data.length - 10, data.length - 1)).toMatchObject({ status: 206, digest: digestOf(data.subarray(data.length - 10)) });
    },
    90_000,
  );

  it('stores one copy when many clients upload the same digest at once, and each of them gets 201', async () => {
    const data = randomBytes(11 * MiB + 5);
    const digest = digestOf(data);
    const blobsStored = async () => (await storage.contents()).filter((key) => !ofUploads(key)).length;
    const before = await blobsStored();
    const responses = await Promise.all(Array.from({ length: 4 }, (_, i) => pushBlob(data, i % 2 === 0 ? 5 * MiB : data.length)));
    expect(responses.map((response) => response.status)).toEqual([201, 201, 201, 201]);
    expect(responses.map((response) => response.headers.get('docker-content-digest'))).toEqual([digest, digest, digest, digest]);
    expect(await pull(digest)).toEqual({ status: 200, digest });
    await expectNothingLeftBehind();
    expect((await blobsStored()) - before).toBe(1);
  });

  (everyCase ? it : notInThisMode)('keeps serving a blob while the same digest is uploaded again, before and after that upload completes', async () => {
    const data = randomBytes(9 * MiB + 1);
    const digest = digestOf(data);
    expect((await pull(digest)).status).toBe(404);
    expect((await pushBlob(data)).status).toBe(201);

    const location = await startUpload();
    const again = halfwayPatch(location, headers, data.subarray(0, 6 * MiB), data.subarray(6 * MiB));
    const pullsDuring = await Promise.all(Array.from({ length: 8 }, () => pull(digest)));
    expect(await again.finish()).toBe(202);
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const pullsRacing = Promise.all(Array.from({ length: 8 }, () => pull(digest)));
    const completed = await fetch(url, { method: 'PUT', headers });
    expect(completed.status).toBe(201);
    for (const result of [...pullsDuring, ...(await pullsRacing), await pull(digest)]) expect(result).toEqual({ status: 200, digest });
    await expectNothingLeftBehind();
  });

  (everyCase ? it : notInThisMode)('a blob being uploaded for the first time is unknown until its upload completes', async () => {
    const data = randomBytes(7 * MiB);
    const digest = digestOf(data);
    const location = await startUpload();
    const first = halfwayPatch(location, headers, data.subarray(0, 4 * MiB), data.subarray(4 * MiB));
    expect((await pull(digest)).status).toBe(404);
    expect(await first.finish()).toBe(202);
    expect((await pull(digest)).status).toBe(404);
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    expect((await fetch(url, { method: 'PUT', headers })).status).toBe(201);
    expect(await pull(digest)).toEqual({ status: 200, digest });
  });
});

describe('the object store going away', () => {
  let minio: StartedDependencies;
  let registry: RunningRegistry;
  let repository: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    minio = await startDependencies({ only: ['minio'] });
    registry = await startTestRegistry(minio.env);
    const workspace = await newWorkspace(registry, 'outage');
    repository = `${workspace.slug}/outage`;
    headers = { Authorization: basicAuth(workspace.admin) };
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    await minio?.stop();
  });

  it('answers 503 UNAVAILABLE in the OCI error format (never 500) while it is down, and works again once it is back', async () => {
    const data = randomBytes(64 * 1024);
    const digest = digestOf(data);
    const upload = (body: Buffer) =>
      fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/uploads/?digest=${digestOf(body)}`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/octet-stream' }, body });
    expect((await upload(data)).status).toBe(201);

    await minio.stopOne('minio');
    try {
      const other = randomBytes(1000);
      for (const response of [
        await fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/${digest}`, { headers }),
        await upload(other),
        await fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers }),
      ]) {
        expect(response.status).toBe(503);
        const body = (await response.json()) as { errors: Array<{ code: string; message: string }> };
        expect(body.errors[0]).toMatchObject({ code: 'UNAVAILABLE', message: 'blob storage is unavailable' });
      }
    } finally {
      await minio.startAgain('minio');
    }
    const back = await pollUntil(() => fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/${digest}`, { headers }).then(async (response) => ({ status: response.status, digest: digestOf(Buffer.from(await response.arrayBuffer())) })), (result) => result.status === 200, 20_000, 250);
    expect(back.digest).toBe(digest);
    expect((await upload(randomBytes(1000))).status).toBe(201);
  });
  it('the gateway starts while auth is down: alive but not ready, 503 (not 401) for valid credentials it cannot check yet; ready and serving them once auth is back (no restart loop)', async () => {
    const issued = await fetch(`${registry.gatewayUrl}/v2/token?service=ocireg&scope=${encodeURIComponent(`repository:${repository}:pull`)}`, { headers });
    expect(issued.status).toBe(200);
    const bearer = { Authorization: `Bearer ${((await issued.json()) as { token: string }).token}` };
    const authPid = registry.pid('auth')!;
    process.kill(authPid, 'SIGTERM');
    await pollUntil(async () => { try { process.kill(authPid, 0); return false; } catch { return true; } }, (gone) => gone, 20_000, 100);
    await registry.restart('gateway');
    expect((await fetch(`${registry.gatewayUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${registry.gatewayUrl}/readyz`)).status).toBe(503);
    // Basic credentials need auth to exchange them; a token needs auth's signing keys, which this new gateway has not fetched.
    for (const credentials of [headers, bearer]) {
      const whileDown = await fetch(`${registry.gatewayUrl}/v2/${repository}/tags/list`, { headers: credentials });
      expect(whileDown.status).toBe(503);
      expect(((await whileDown.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe('UNAVAILABLE');
    }
    await registry.restart('auth');
    // This test's auth signs with a key of its own process (no AUTH_SIGNING_KEY): the token from before is now
    // answered for what it is, signed by a key auth no longer publishes (401); Basic credentials work again.
    const answers = [];
    for (const credentials of [headers, bearer]) {
      answers.push(await pollUntil(() => fetch(`${registry.gatewayUrl}/v2/${repository}/tags/list`, { headers: credentials }).then((r) => r.status), (status) => status !== 503, 20_000, 250));
    }
    expect([[200, 401], [404, 401]]).toContainEqual(answers);
    expect(await pollUntil(() => fetch(`${registry.gatewayUrl}/readyz`).then((r) => r.status), (status) => status === 200, 10_000, 250)).toBe(200);
  });
});

/** Each backend's signed URLs: where they point, and how long they say they are valid. */
const REDIRECT_MODES: Array<{ mode: string; env(): Record<string, string>; endpoint(): string; validSeconds(url: URL): number }> = [
  { mode: 'S3 (MinIO): a presigned URL', env: () => ({}), endpoint: () => process.env.S3_ENDPOINT!, validSeconds: (url) => Number(url.searchParams.get('X-Amz-Expires')) },
  {
    mode: 'Azure Blob Storage (Azurite): a SAS URL',
    env: () => azureStore('redirect').env,
    endpoint: () => process.env.AZURE_STORAGE_ENDPOINT!,
    validSeconds: (url) => Math.round((Date.parse(url.searchParams.get('se') ?? '') - Date.now()) / 1000),
  },
  { mode: 'Google Cloud Storage (fake-gcs-server): a V4 signed URL', env: () => gcsStore('redirect').env, endpoint: () => process.env.GCS_ENDPOINT!, validSeconds: (url) => Number(url.searchParams.get('X-Goog-Expires')) },
];

describe.each(REDIRECT_MODES)('pulls redirected to the object store (BLOB_REDIRECT_SECONDS) on $mode', ({ env, endpoint, validSeconds }) => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry({ ...env(), BLOB_REDIRECT_SECONDS: '60' });
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
  });

  it('answers a blob GET with a 307 to a signed URL that serves the bytes (whole and by Range), HEAD directly, and crane pulls through it', async () => {
    const workspace = await loginNewWorkspace(registry, 'redirect'); // crane reads docker's credentials
    const repository = `${workspace.slug}/pulled`;
    const oci = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    const { layer } = await oci.pushImage(repository, 'v1');
    const headers = { Authorization: basicAuth(workspace.admin) };

    const redirected = await fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/${layer.digest}`, { headers, redirect: 'manual' });
    expect(redirected.status).toBe(307);
    const location = new URL(redirected.headers.get('location')!);
    expect(location.origin).toBe(new URL(endpoint()).origin);
    expect(validSeconds(location)).toBeGreaterThanOrEqual(55);
    expect(validSeconds(location)).toBeLessThanOrEqual(61);
    const whole = await fetch(location);
    expect(digestOf(Buffer.from(await whole.arrayBuffer()))).toBe(layer.digest);
    const ranged = await fetch(location, { headers: { Range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect((await ranged.arrayBuffer()).byteLength).toBe(10);

    const head = await fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/${layer.digest}`, { method: 'HEAD', headers, redirect: 'manual' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, String(layer.size)]);

    const dir = tempDir('redirect');
    await run('crane', ['pull', '--insecure', '--format', 'oci', `${registry.registryHost}/${repository}:v1`, dir]);
    const pulled = readdirSync(path.join(dir, 'blobs', 'sha256'));
    expect(pulled).toContain(layer.digest.slice('sha256:'.length));
  });
});
