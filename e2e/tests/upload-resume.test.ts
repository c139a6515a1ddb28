import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry, ServiceName } from '@ocireg/devstack';
import { startDependencies } from '@ocireg/testenv';
import { halfwayPatch } from './halfway-patch';
import { basicAuth, newWorkspace, startTestRegistry, tempDir } from './helpers';
import { azureStore, gcsStore, notInThisMode, type ObjectStore } from './object-stores';

/**
 * Resuming the same upload after its writer died. kill -9 of blob-upload or
 * of the gateway in the middle of a PATCH; once the process is back, GET of
 * the upload says what was committed, and a PATCH from that offset (a client
 * that honours Retry-After may wait for the dead writer's lease to lapse)
 * is taken within 10 s of the kill; the PUT completes it with the right
 * digest and nothing of it is left behind. Also: a second writer meanwhile
 * is told to retry (429 with Retry-After), and a PATCH that streams for
 * longer than the lease keeps it. The registry runs with the default lease
 * (UPLOAD_LEASE_SECONDS, 5 s) and time limit. On each storage backend;
 * Azure and GCS run the kills (the cases that depend on the backend).
 */

const MiB = 1024 * 1024;
const RESUMED_WITHIN_MS = 10_000;

const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface StartedMode {
  env: Record<string, string>;
  /** What an upload left in storage (and, in files, of its session). */
  leftovers(uploadId: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** A container or bucket of its own in the shared Azurite or fake-gcs-server, sessions in a Redis of its own (see the S3 mode). */
async function objectStoreMode(store: ObjectStore): Promise<StartedMode> {
  const own = await startDependencies({ only: ['redis'] });
  return {
    env: { ...own.env, ...store.env },
    // Its tails and parts, and blocks staged for its blob (Azure) while they are not committed.
    leftovers: async (uploadId) => [...(await store.contents(`uploads/${uploadId}/`)), ...(await store.contents(`blobs/${uploadId}`)).filter((key) => key.startsWith('uncommitted '))],
    stop: () => own.stop(),
  };
}

const MODES: Array<{ mode: string; start(): Promise<StartedMode>; everyCase: boolean }> = [
  {
    mode: 'S3 (MinIO), sessions in Redis',
    // A Redis of its own: the sweepers of other files' registries (with time limits of a few seconds) would discard these sessions.
    async start() {
      const own = await startDependencies({ only: ['minio', 'redis'] });
      const url = new URL(own.env.S3_ENDPOINT!);
      const s3 = new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, accessKey: own.env.S3_ACCESS_KEY!, secretKey: own.env.S3_SECRET_KEY!, pathStyle: true });
      const bucket = own.env.S3_BUCKET!;
      return {
        env: { ...own.env, STORAGE_BACKEND: 's3' },
        async leftovers(uploadId) {
          const found: string[] = [];
          for await (const item of s3.listObjectsV2(bucket, `uploads/${uploadId}/`, true)) found.push(`object ${item.name}`);
          for await (const item of s3.listIncompleteUploads(bucket, `blobs/${uploadId}`, true)) found.push(`multipart ${item.key}`);
          return found;
        },
        stop: () => own.stop(),
      };
    },
    everyCase: true,
  },
  {
    mode: 'the filesystem, sessions in files (embedded)',
    async start() {
      const dataDir = tempDir('upload-resume');
      return {
        env: { STORAGE_BACKEND: 'filesystem', REDIS_URL: '', DATA_DIR: dataDir },
        async leftovers(uploadId) {
          const files = [`blobs/objects/uploads/${uploadId}`, `upload-sessions/sessions/${uploadId}.json`, `upload-sessions/leases/${uploadId}.json`];
          return files.filter((file) => existsSync(path.join(dataDir, file)));
        },
        stop: async () => undefined,
      };
    },
    everyCase: true,
  },
  { mode: 'Azure Blob Storage (Azurite), sessions in Redis', start: () => objectStoreMode(azureStore('resume')), everyCase: false },
  { mode: 'Google Cloud Storage (fake-gcs-server), sessions in Redis', start: () => objectStoreMode(gcsStore('resume')), everyCase: false },
];

describe.each(MODES)('resuming an upload on $mode', ({ start, everyCase }) => {
  let started: StartedMode;
  let registry: RunningRegistry;
  let repository: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    started = await start();
    registry = await startTestRegistry(started.env);
    const workspace = await newWorkspace(registry, 'resume');
    repository = `${workspace.slug}/resumed`;
    headers = { Authorization: basicAuth(workspace.admin) };
  }, 180_000);

  afterAll(async () => {
    await registry?.stop();
    await started?.stop();
  });

  async function startUpload(): Promise<{ location: URL; uploadId: string }> {
    const response = await fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
    expect(response.status).toBe(202);
    return { location: new URL(response.headers.get('location')!, registry.gatewayUrl), uploadId: response.headers.get('docker-upload-uuid')! };
  }

  function patch(location: URL, offset: number, body: Buffer): Promise<Response> {
    return fetch(location, { method: 'PATCH', headers: { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + body.length - 1}` }, body });
  }

  /**
   * A client that honours Retry-After: PATCHes `body` at `offset` until it
   * is answered with anything but a 429 or 503 that says when to retry, or
   * waiting would pass `deadline`. Returns the last response and every
   * answer ("429 Retry-After 2").
   */
  async function patchHonouringRetryAfter(location: URL, offset: number, body: Buffer, deadline: number): Promise<{ response: Response; answers: string[] }> {
    const answers: string[] = [];
    for (;;) {
      const response = await patch(location, offset, body);
      const retryAfter = response.headers.get('retry-after');
      answers.push(retryAfter === null ? String(response.status) : `${response.status} Retry-After ${retryAfter}`);
      const retryable = (response.status === 429 || response.status === 503) && retryAfter !== null;
      if (!retryable || Date.now() + Number(retryAfter) * 1000 > deadline) return { response, answers };
      await response.arrayBuffer();
      await sleep(Number(retryAfter) * 1000);
    }
  }

  async function complete(location: URL, data: Buffer): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digestOf(data));
    const done = await fetch(url, { method: 'PUT', headers });
    expect(done.status).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(digestOf(data));
    const pulled = await fetch(`${registry.gatewayUrl}/v2/${repository}/blobs/${digestOf(data)}`, { headers });
    expect(pulled.status).toBe(200);
    expect(digestOf(Buffer.from(await pulled.arrayBuffer()))).toBe(digestOf(data));
  }

  it.each<ServiceName>(['blob-upload', 'gateway'])(
    'kill -9 of %s in the middle of a PATCH: the same upload resumes from its committed offset within 10 s, completes with the right digest, and leaves nothing behind',
    async (service) => {
      const data = randomBytes(13 * MiB + 5);
      const committed = 5 * MiB + 3; // in parts (S3, Azure, GCS), a part and a tail
      const { location, uploadId } = await startUpload();
      const first = await patch(location, 0, data.subarray(0, committed));
      expect([first.status, first.headers.get('range')]).toEqual([202, `0-${committed - 1}`]);

      const second = halfwayPatch(new URL(first.headers.get('location')!, registry.gatewayUrl), headers, data.subarray(committed, committed + 4 * MiB), data.subarray(committed + 4 * MiB), { offset: committed });
      await sleep(400); // its bytes are on their way to storage
      process.kill(registry.pid(service)!, 'SIGKILL');
      const killedAt = Date.now();
      // The rest of the body goes: a gateway without blob-upload can neither renew the lease nor commit, and says to retry; a dead gateway's connection breaks.
      const interrupted = await second.finish();
      if (service === 'blob-upload') expect(interrupted).toBe(503);
      else expect(interrupted).toBeInstanceOf(Error);
      await registry.restart(service);

      const status = await fetch(location, { headers });
      expect([status.status, status.headers.get('range')]).toEqual([204, `0-${committed - 1}`]);
      const resumed = await patchHonouringRetryAfter(new URL(status.headers.get('location')!, registry.gatewayUrl), committed, data.subarray(committed), killedAt + RESUMED_WITHIN_MS);
      const resumedAfterMs = Date.now() - killedAt;
      expect(resumed.response.status, `answers: ${resumed.answers.join(', ')}`).toBe(202);
      // Waiting for the dead writer's lease is a 429 that says for how long (never a 400 or 404).
      for (const answer of resumed.answers.slice(0, -1)) expect(answer).toMatch(/^(429|503) Retry-After [1-5]$/);
      expect(resumedAfterMs).toBeLessThan(RESUMED_WITHIN_MS);
      expect(resumed.response.headers.get('range')).toBe(`0-${data.length - 1}`);

      expect(await started.leftovers(uploadId)).not.toEqual([]);
      await complete(new URL(resumed.response.headers.get('location')!, registry.gatewayUrl), data);
      expect(await started.leftovers(uploadId)).toEqual([]);
    },
    120_000,
  );

  (everyCase ? it : notInThisMode)('tells a second writer of an upload to retry (429 TOOMANYREQUESTS with Retry-After) while the first streams, and takes it once the first is done', async () => {
    const data = randomBytes(3 * MiB);
    const { location, uploadId } = await startUpload();
    const first = halfwayPatch(location, headers, data.subarray(0, MiB), data.subarray(MiB, 2 * MiB), { offset: 0 });
    await sleep(300); // the first holds the lease
    const meanwhile = await patch(location, 0, data.subarray(0, MiB));
    expect(meanwhile.status).toBe(429);
    expect(Number(meanwhile.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(meanwhile.headers.get('retry-after'))).toBeLessThanOrEqual(5);
    expect(((await meanwhile.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('TOOMANYREQUESTS');
    expect(await first.finish()).toBe(202);
    const rest = await patch(location, 2 * MiB, data.subarray(2 * MiB));
    expect([rest.status, rest.headers.get('range')]).toEqual([202, `0-${data.length - 1}`]);
    expect(await started.leftovers(uploadId)).not.toEqual([]);
    await complete(location, data);
    expect(await started.leftovers(uploadId)).toEqual([]);
  });

  (everyCase ? it : notInThisMode)('keeps the lease of a PATCH that streams for longer than the lease (it is renewed), and commits it', async () => {
    const pieces = Array.from({ length: 36 }, () => randomBytes(64 * 1024));
    const data = Buffer.concat(pieces);
    const { location } = await startUpload();
    const slow = halfwayPatch(location, headers, pieces[0]!, Buffer.alloc(0), { offset: 0, length: data.length });
    // 7 s of body, against a 5 s lease.
    for (const piece of pieces.slice(1)) {
      await sleep(200);
      await slow.write(piece);
    }
    expect(await slow.finish()).toBe(202);
    await complete(location, data);
  });
});
