import type { IncomingMessage } from 'node:http';
import { RegistryError } from '@ocireg/errors';

/**
 * The chunks of a request body as they arrive, with backpressure (the next
 * chunk is read when the consumer asks), ending in an error when the body
 * stalls for `idleMs` (408) or runs past `deadlineMs` (the upload session's
 * time limit), even while no byte arrives.
 */
export async function* requestChunks(req: IncomingMessage, limits: { idleMs: number; deadlineMs: number; timedOut: () => Error }): AsyncGenerator<Buffer> {
  const iterator = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const wait = Math.min(limits.idleMs, limits.deadlineMs - Date.now());
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Date.now() >= limits.deadlineMs - 5 ? limits.timedOut() : new RegistryError('BLOB_UPLOAD_INVALID', `the upload sent no data for ${Math.round(limits.idleMs / 1000)} seconds`, undefined, 408)),
          Math.max(wait, 0),
        );
      });
      expired.catch(() => undefined);
      const next = await Promise.race([iterator.next(), expired]);
      clearTimeout(timer);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
  }
}
