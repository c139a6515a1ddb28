import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { readObjectDirect } from './s3-object-reader';

const body = randomBytes(9 * 1024 * 1024 + 7);
let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A stand-in object store answering every GET with `answer`. */
async function store(answer: Parameters<typeof createServer>[1]): Promise<URL> {
  server = createServer(answer);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket/key?X-Amz-Signature=x`);
}

describe('readObjectDirect', () => {
  it('streams a whole object, sending the presigned path and query', async () => {
    let asked = '';
    const url = await store((req, res) => {
      asked = req.url ?? '';
      res.writeHead(200, { 'Content-Length': body.length }).end(body);
    });
    const stream = await readObjectDirect(url);
    expect((await buffer(stream!)).equals(body)).toBe(true);
    expect(asked).toBe('/bucket/key?X-Amz-Signature=x');
  });

  it('asks for a range and streams the 206 body, to a slow reader without losing bytes', async () => {
    let range = '';
    const url = await store((req, res) => {
      range = req.headers.range ?? '';
      const slice = body.subarray(5, 8 * 1024 * 1024);
      res.writeHead(206, { 'Content-Length': slice.length }).end(slice);
    });
    const stream = (await readObjectDirect(url, { start: 5, end: 8 * 1024 * 1024 - 1 }))!;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      await sleep(1);
    }
    expect(range).toBe(`bytes=5-${8 * 1024 * 1024 - 1}`);
    expect(Buffer.concat(chunks).equals(body.subarray(5, 8 * 1024 * 1024))).toBe(true);
  });

  it('leaves errors, chunked bodies and refused connections to the S3 client (undefined)', async () => {
    const missing = await store((_req, res) => res.writeHead(404, { 'Content-Length': 3 }).end('no!'));
    expect(await readObjectDirect(missing)).toBeUndefined();
    await new Promise((resolve) => server!.close(resolve));
    const chunked = await store((_req, res) => {
      res.writeHead(200);
      res.write('a');
      res.end('b');
    });
    expect(await readObjectDirect(chunked)).toBeUndefined();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    expect(await readObjectDirect(chunked)).toBeUndefined(); // nothing listens there now
    expect(await readObjectDirect(new URL('https://127.0.0.1:1/bucket/key'))).toBeUndefined();
  });

  it('fails the stream when the store closes the connection before the whole body', async () => {
    const url = await store((_req, res) => {
      res.writeHead(200, { 'Content-Length': body.length });
      res.write(body.subarray(0, 1024 * 1024), () => res.destroy());
    });
    const stream = (await readObjectDirect(url))!;
    await expect(buffer(stream)).rejects.toThrow(/bytes early/);
  });

  it('reads an empty object', async () => {
    const url = await store((_req, res) => res.writeHead(200, { 'Content-Length': 0 }).end());
    expect((await buffer((await readObjectDirect(url))!)).length).toBe(0);
  });
});
