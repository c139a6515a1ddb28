import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { basicAuth, newWorkspace, startTestRegistry } from './helpers';

const MiB = 1024 * 1024;
const SIZE_LIMIT = 6 * MiB;
const TIME_LIMIT_SECONDS = 3;
const IDLE_SECONDS = 2;

function s3(): Client {
  const url = new URL(process.env.S3_ENDPOINT!);
  return new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, accessKey: process.env.S3_ACCESS_KEY!, secretKey: process.env.S3_SECRET_KEY!, pathStyle: true });
}

/** Objects and unfinished multipart uploads an upload session left behind. */
async function leftovers(uploadId: string): Promise<string[]> {
  const client = s3();
  const bucket = process.env.S3_BUCKET!;
  const found: string[] = [];
  for await (const item of client.listObjectsV2(bucket, `uploads/${uploadId}`, true)) found.push(`object ${item.name}`);
  for await (const item of client.listObjectsV2(bucket, `blobs/${uploadId}`, true)) found.push(`object ${item.name}`);
  for await (const item of client.listIncompleteUploads(bucket, `blobs/${uploadId}`, true)) found.push(`multipart ${item.key}`);
  return found;
}

interface OciErrors {
  errors: Array<{ code: string; message: string }>;
}

const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('upload limits through the gateway', () => {
  let registry: RunningRegistry;
  let base: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    registry = await startTestRegistry({ MAX_BLOB_SIZE: String(SIZE_LIMIT), UPLOAD_TIME_LIMIT_SECONDS: String(TIME_LIMIT_SECONDS), UPLOAD_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS), UPLOAD_SWEEP_INTERVAL_SECONDS: '1' });
    const workspace = await newWorkspace(registry);
    base = `${registry.gatewayUrl}/v2/${workspace.slug}/limits`;
    headers = { Authorization: basicAuth(workspace.admin) };
  });

  afterAll(async () => {
    await registry?.stop();
  });

  async function startUpload(): Promise<{ location: string; uploadId: string }> {
    const response = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers });
    expect(response.status).toBe(202);
    return { location: new URL(response.headers.get('location')!, registry.gatewayUrl).toString(), uploadId: response.headers.get('docker-upload-uuid')! };
  }

  it('refuses a blob one byte over the size limit with SIZE_INVALID / 413, frees its storage, and leaves other uploads alone', async () => {
    const other = await startUpload();
    const otherData = randomBytes(MiB);
    const otherPatch = fetch(other.location, { method: 'PATCH', body: otherData, headers });

    const { location, uploadId } = await startUpload();
    const response = await fetch(location, { method: 'PATCH', body: randomBytes(SIZE_LIMIT + 1), headers });
    expect(response.status).toBe(413);
    const body = (await response.json()) as OciErrors;
    expect(body.errors[0]!.code).toBe('SIZE_INVALID');
    expect(body.errors[0]!.message).toContain(String(SIZE_LIMIT));
    expect((await fetch(location, { headers })).status).toBe(404);
    expect(await leftovers(uploadId)).toEqual([]);

    expect((await otherPatch).status).toBe(202);
    const done = await fetch(`${other.location}?digest=${digestOf(otherData)}`, { method: 'PUT', headers });
    expect(done.status).toBe(201);
    expect((await fetch(`${base}/blobs/${digestOf(otherData)}`, { method: 'HEAD', headers })).headers.get('content-length')).toBe(String(MiB));
  });

  it('accepts a blob exactly at the limit', async () => {
    const data = randomBytes(SIZE_LIMIT);
    const response = await fetch(`${base}/blobs/uploads/?digest=${digestOf(data)}`, { method: 'POST', body: data, headers });
    expect(response.status).toBe(201);
  });

  it('expires a session after the time limit: the next request says it timed out, the sweeper frees abandoned ones', async () => {
    const late = await startUpload();
    const abandoned = await startUpload();
    expect((await fetch(late.location, { method: 'PATCH', body: randomBytes(100), headers })).status).toBe(202);
    expect((await fetch(abandoned.location, { method: 'PATCH', body: randomBytes(100), headers })).status).toBe(202);
    expect(await leftovers(abandoned.uploadId)).not.toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, (TIME_LIMIT_SECONDS + 0.5) * 1000));
    const response = await fetch(late.location, { method: 'PATCH', body: randomBytes(100), headers: { ...headers, 'Content-Range': '100-199' } });
    expect(response.status).toBe(404);
    const body = (await response.json()) as OciErrors;
    expect(body.errors[0]).toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN', message: expect.stringContaining('timed out') });
    expect(await leftovers(late.uploadId)).toEqual([]);

    // Nobody comes back for `abandoned`: the sweeper (every second here) frees it.
    const deadline = Date.now() + 10_000;
    while ((await leftovers(abandoned.uploadId)).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await leftovers(abandoned.uploadId)).toEqual([]);

    const fresh = randomBytes(1000);
    expect((await fetch(`${base}/blobs/uploads/?digest=${digestOf(fresh)}`, { method: 'POST', body: fresh, headers })).status).toBe(201);
  });

  /**
   * A PATCH whose body the test writes by hand: `writeBody` gets the request
   * to write to; resolves with the status (or "closed") and when it came.
   */
  function slowPatch(location: string, writeBody: (write: (bytes: Buffer) => boolean) => void): Promise<{ status: number | 'closed'; seconds: number; body: string }> {
    const started = Date.now();
    return new Promise((resolve) => {
      const req = request(location, { method: 'PATCH', headers: { ...headers, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, seconds: (Date.now() - started) / 1000, body }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, seconds: (Date.now() - started) / 1000, body }));
      });
      req.on('error', () => resolve({ status: 'closed', seconds: (Date.now() - started) / 1000, body: '' }));
      writeBody((bytes) => !req.destroyed && req.write(bytes));
    });
  }

  it('cuts an upload that trickles a byte at a time at the session time limit, with a 4xx, and frees the session', async () => {
    const { location, uploadId } = await startUpload();
    let timer: NodeJS.Timeout | undefined;
    const result = await slowPatch(location, (write) => {
      timer = setInterval(() => write(randomBytes(1)), 400);
    });
    clearInterval(timer);
    expect(result.status).toBe(404);
    expect(JSON.parse(result.body).errors[0]).toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN', message: expect.stringContaining('timed out') });
    expect(result.seconds).toBeGreaterThan(TIME_LIMIT_SECONDS - 1);
    expect(result.seconds).toBeLessThan(TIME_LIMIT_SECONDS + 3);
    expect(await leftovers(uploadId)).toEqual([]);
  });

  it('cuts a body that sends nothing for the idle timeout with 408', async () => {
    const { location } = await startUpload();
    const result = await slowPatch(location, (write) => write(randomBytes(10)));
    expect(result.status).toBe(408);
    expect(JSON.parse(result.body).errors[0].code).toBe('BLOB_UPLOAD_INVALID');
    expect(result.seconds).toBeGreaterThanOrEqual(IDLE_SECONDS - 0.5);
    expect(result.seconds).toBeLessThan(IDLE_SECONDS + 2);
  });
});
