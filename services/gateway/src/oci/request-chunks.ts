import type { IncomingMessage } from 'node:http';
import { RegistryError } from '@ocireg/errors';
import { bodyBytesConsumed } from './body-garbage';

/**
 * The bytes of a request body as they arrive, with backpressure (nothing is
 * read until the consumer asks), ending in an error when the body stalls for
 * `idleMs` (408), runs past `deadlineMs` (the upload session's time limit)
 * or `signal` aborts (with its reason: the writer lost the session's lease),
 * even while no byte arrives.
 *
 * Each step takes everything the request has buffered (read() joins small
 * chunks), and one timer watches both limits: clients that write their body
 * in 4 KiB pieces (Go's net/http with a Content-Length body does) would
 * otherwise cost a promise, a timer and a hash update per piece. The
 * consumed pieces' buffers are freed as the body goes (see body-garbage).
 */
export async function* requestChunks(req: IncomingMessage, limits: { idleMs: number; deadlineMs: number; timedOut: () => Error; signal?: AbortSignal }): AsyncGenerator<Buffer> {
  let failure: Error | undefined;
  let ended = false;
  /** When the current wait for bytes began; undefined while the consumer has them. */
  let waitingSince: number | undefined;
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const fail = (err: Error) => {
    failure ??= err;
    wakeUp();
  };
  const onEnd = () => {
    ended = true;
    wakeUp();
  };
  const onAbort = () => fail(limits.signal!.reason as Error);

  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const now = Date.now();
    if (now >= limits.deadlineMs - 5) return fail(limits.timedOut());
    if (waitingSince !== undefined && now - waitingSince >= limits.idleMs) {
      return fail(new RegistryError('BLOB_UPLOAD_INVALID', `the upload sent no data for ${Math.round(limits.idleMs / 1000)} seconds`, undefined, 408));
    }
    const idleLeft = waitingSince === undefined ? limits.idleMs : limits.idleMs - (now - waitingSince);
    timer = setTimeout(check, Math.max(Math.min(idleLeft, limits.deadlineMs - now), 0));
  };

  req.on('readable', wakeUp);
  req.on('end', onEnd);
  req.on('error', fail);
  if (limits.signal?.aborted) onAbort();
  limits.signal?.addEventListener('abort', onAbort, { once: true });
  check();
  try {
    for (;;) {
      if (failure) throw failure;
      const bytes = req.read() as Buffer | null;
      if (bytes !== null) {
        waitingSince = undefined;
        yield bytes;
        bodyBytesConsumed(bytes.length);
        continue;
      }
      if (ended || req.readableEnded) return;
      waitingSince ??= Date.now();
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    clearTimeout(timer);
    req.off('readable', wakeUp);
    req.off('end', onEnd);
    req.off('error', fail);
    limits.signal?.removeEventListener('abort', onAbort);
  }
}
