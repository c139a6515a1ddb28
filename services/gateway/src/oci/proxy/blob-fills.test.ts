import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { BlobFills, type FillWork } from './blob-fills';

const logger = createLogger({ service: 'test', level: 'silent' });
const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A fill's work with a body the test feeds by hand, and what storage received. */
function fakeWork(size?: number) {
  const body = new PassThrough();
  const stats = { fetches: 0, stored: 0, completed: [] as string[], cancelled: 0 };
  const work: FillWork = {
    fetch: async () => {
      stats.fetches++;
      return { size, body };
    },
    store: async (chunks) => {
      for await (const chunk of chunks) stats.stored += chunk.length;
      return { complete: async (digest) => void stats.completed.push(digest), cancel: async () => void stats.cancelled++ };
    },
  };
  return { body, stats, work };
}

async function readAll(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('BlobFills: one fetch per blob, shared while it is written', () => {
  const spoolDir = () => mkdtempSync(path.join(os.tmpdir(), 'fills-'));

  it('serves every joiner from one fetch, the first bytes before the blob is complete, and commits once the digest matches', async () => {
    const fills = new BlobFills({ spoolDir: spoolDir(), logger });
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    const { body, stats, work } = fakeWork(blob.length);
    const first = await Promise.race([fills.join('ws/hub/a@d', digestOf(blob), work), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer')), 2000))]);
    expect(first.size).toBe(blob.length);
    body.write(blob.subarray(0, 1024 * 1024));
    // The first mebibyte reaches a client while the rest has not even been sent.
    const iterator = first.chunks[Symbol.asyncIterator]();
    const early = await iterator.next();
    expect(early.done).toBe(false);
    expect(early.value.length).toBeGreaterThan(0);
    const others = await Promise.all(Array.from({ length: 7 }, () => fills.join('ws/hub/a@d', digestOf(blob), work)));
    body.end(blob.subarray(1024 * 1024));
    const rest: Buffer[] = [early.value];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    expect(digestOf(Buffer.concat(rest))).toBe(digestOf(blob));
    for (const other of others) expect(digestOf(await readAll(other.chunks))).toBe(digestOf(blob));
    [first, ...others].forEach((stream) => stream.release());
    expect(stats).toMatchObject({ fetches: 1, stored: blob.length, completed: [digestOf(blob)], cancelled: 0 });
    // Done: the next join is a new fill (the cache would answer before it, in the gateway).
    expect(fills.size).toBe(0);
  });

  it('cuts every client off and stores nothing when the bytes do not have the digest; the last byte never goes out', async () => {
    const fills = new BlobFills({ spoolDir: spoolDir(), logger });
    const blob = randomBytes(64 * 1024);
    const { body, stats, work } = fakeWork(blob.length);
    const streams = await Promise.all([1, 2, 3].map(() => fills.join('ws/hub/b@d', digestOf(Buffer.from('other bytes')), work)));
    body.end(blob);
    for (const stream of streams) {
      let received = 0;
      const reading = (async () => {
        for await (const chunk of stream.chunks) received += chunk.length;
      })();
      await expect(reading).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
      expect(received).toBeLessThan(blob.length);
      stream.release();
    }
    expect(stats).toMatchObject({ fetches: 1, completed: [], cancelled: 1 });
  });

  it('tells every joiner when the upstream cannot be fetched, before any byte', async () => {
    const fills = new BlobFills({ spoolDir: spoolDir(), logger });
    const work: FillWork = { fetch: async () => Promise.reject(new Error('upstream down')), store: async () => Promise.reject(new Error('never')) };
    const joins = [1, 2].map(() => fills.join('ws/hub/c@d', digestOf(Buffer.from('x')), work));
    for (const join of joins) await expect(join).rejects.toThrow('upstream down');
  });
});
