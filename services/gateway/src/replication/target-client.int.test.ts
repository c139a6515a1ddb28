import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { TargetGuard } from '@ocireg/outbound';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicationFailure, TargetClient } from './target-client';

const loopbackAllowed = new TargetGuard(['127.0.0.0/8'], 'REPLICATION_ALLOWED_CIDRS');

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * How the client pushes to a target that answers as token-auth registries
 * do (the replication e2e test drives a real CNCF Distribution with Basic):
 * a Bearer token for pull,push from the realm, a blob streamed in one PUT
 * with its Content-Length, and no credentials for an upload Location on
 * another origin.
 */
describe('TargetClient against a Bearer-token registry', () => {
  let registry: { server: Server; url: string };
  let storage: { server: Server; url: string };
  const seen: Array<{ method: string; path: string; authorization?: string; length?: string; bytes?: number }> = [];
  const blob = randomBytes(256 * 1024);
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

  beforeAll(async () => {
    const record = (req: IncomingMessage, bytes?: number) => seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, length: req.headers['content-length'], bytes });
    storage = await listen((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        record(req, bytes);
        res.writeHead(201, { 'Docker-Content-Digest': digest }).end();
      });
    });
    registry = await listen((req, res) => {
      record(req);
      const path = req.url ?? '';
      if (path.startsWith('/token')) {
        res.writeHead(req.headers.authorization === `Basic ${Buffer.from('bot:s3cret').toString('base64')}` ? 200 : 401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ token: 'tok-1', expires_in: 300 }));
        return;
      }
      if (req.headers.authorization !== 'Bearer tok-1') {
        res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="${registry.url}/token",service="test",scope="repository:copy/app:pull,push"` }).end();
        return;
      }
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      if (req.method === 'POST') return void res.writeHead(202, { Location: `${storage.url}/upload/1?_state=x` }).end();
      res.writeHead(201, { 'Docker-Content-Digest': 'sha256:other' }).end();
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => registry.server.close(resolve));
    await new Promise((resolve) => storage.server.close(resolve));
  });

  it('asks the realm for a pull,push token with Basic, streams the blob with its length, and sends no credentials to another origin', async () => {
    const client = new TargetClient({ label: 'ws/backup', url: registry.url, username: 'bot', password: 's3cret' }, 2000, loopbackAllowed);
    expect(await client.hasBlob('copy/app', digest)).toBe(false);
    await client.uploadBlob('copy/app', digest, blob.length, async () => Readable.from([blob.subarray(0, 1000), blob.subarray(1000)]));
    const token = seen.find((s) => s.path.startsWith('/token'))!;
    expect(new URL(token.path, registry.url).searchParams.get('scope')).toBe('repository:copy/app:pull,push');
    const put = seen.find((s) => s.method === 'PUT')!;
    expect(put).toMatchObject({ path: `/upload/1?_state=x&digest=${encodeURIComponent(digest)}`, length: String(blob.length), bytes: blob.length, authorization: undefined });
    // A manifest stored under another digest than pushed is refused by the caller; here the PUT answers it.
    expect(await client.putManifest('copy/app', 'v1', 'application/vnd.oci.image.manifest.v1+json', Buffer.from('{}'))).toBe('sha256:other');
  });

  it('names the target and the status on refusal, never the password; refuses addresses the operator did not allow', async () => {
    const wrong = new TargetClient({ label: 'ws/backup', url: registry.url, username: 'bot', password: 'wrong-password' }, 2000, loopbackAllowed);
    const err = await wrong.hasBlob('copy/app', digest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicationFailure);
    expect((err as Error).message).toMatch(/ws\/backup's token endpoint answered 401/);
    expect((err as Error).message).not.toContain('wrong-password');
    const guarded = new TargetClient({ label: 'ws/backup', url: registry.url, username: '', password: '' }, 2000, new TargetGuard([], 'REPLICATION_ALLOWED_CIDRS'));
    await expect(guarded.hasBlob('copy/app', digest)).rejects.toThrow(/REPLICATION_ALLOWED_CIDRS/);
  });
});
