import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { requestChunks } from './request-chunks';

/** A request body the test pushes bytes into. */
function body(): Readable & IncomingMessage {
  return new Readable({ read() {} }) as Readable & IncomingMessage;
}

const timedOut = () => new Error('timed out');
const limits = (idleMs: number, deadlineInMs = 60_000) => ({ idleMs, deadlineMs: Date.now() + deadlineInMs, timedOut });

describe('requestChunks', () => {
  it('yields every byte in order, joining the small pieces buffered while the consumer was busy', async () => {
    const req = body();
    const pieces = Array.from({ length: 64 }, (_, i) => Buffer.alloc(4096, i));
    const chunks: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of requestChunks(req, limits(5_000))) {
        chunks.push(chunk);
        await sleep(5); // a slow consumer: pieces pile up meanwhile
      }
    })();
    for (const piece of pieces) {
      req.push(piece);
      await sleep(0);
    }
    req.push(null);
    await reading;
    expect(Buffer.concat(chunks).equals(Buffer.concat(pieces))).toBe(true);
    expect(chunks.length).toBeLessThan(pieces.length);
  });

  it('ends with 408 when no byte arrives for the idle time, but not while the consumer holds the bytes', async () => {
    const req = body();
    req.push(Buffer.from('first'));
    const seen: string[] = [];
    const reading = (async () => {
      for await (const chunk of requestChunks(req, limits(150))) {
        seen.push(chunk.toString());
        await sleep(400); // longer than the idle time: the client is not idle, the consumer is slow
      }
    })();
    setTimeout(() => req.push(Buffer.from('second')), 100);
    await expect(reading).rejects.toMatchObject({ code: 'BLOB_UPLOAD_INVALID', httpStatus: 408 });
    expect(seen).toEqual(['first', 'second']);
  });

  it('ends with the time-limit error at the deadline even while bytes keep trickling in', async () => {
    const req = body();
    const trickle = setInterval(() => req.push(Buffer.from('x')), 20);
    const started = Date.now();
    try {
      let bytes = 0;
      await expect(
        (async () => {
          for await (const chunk of requestChunks(req, limits(1_000, 300))) bytes += chunk.length;
        })(),
      ).rejects.toThrow('timed out');
      expect(bytes).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      clearInterval(trickle);
    }
  });

  it('passes on an error of the request (a client that went away)', async () => {
    const req = body();
    setTimeout(() => req.destroy(new Error('aborted')), 20);
    await expect(
      (async () => {
        for await (const chunk of requestChunks(req, limits(5_000))) void chunk;
      })(),
    ).rejects.toThrow('aborted');
  });

  it('ends with the signal\'s reason as soon as it aborts, while it waits for bytes too', async () => {
    const req = body();
    req.push(Buffer.from('first'));
    const controller = new AbortController();
    const lost = new Error('lease lost');
    const seen: string[] = [];
    const started = Date.now();
    setTimeout(() => controller.abort(lost), 100);
    await expect(
      (async () => {
        for await (const chunk of requestChunks(req, { ...limits(5_000), signal: controller.signal })) seen.push(chunk.toString());
      })(),
    ).rejects.toBe(lost);
    expect(seen).toEqual(['first']);
    expect(Date.now() - started).toBeLessThan(1_000);
    // Already aborted: not a byte.
    const again = body();
    again.push(Buffer.from('more'));
    await expect(
      (async () => {
        for await (const chunk of requestChunks(again, { ...limits(5_000), signal: controller.signal })) seen.push(chunk.toString());
      })(),
    ).rejects.toBe(lost);
    expect(seen).toEqual(['first']);
  });
});
