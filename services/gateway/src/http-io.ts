import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientWritableStream } from '@grpc/grpc-js';
import { RegistryError, toOciBody } from '@ocireg/errors';
import type { Logger } from '@ocireg/logger';
import type { blobupload } from '@ocireg/proto';
import { AuthChallenge } from './auth-guard';

/** Writes the OCI error body (no body for HEAD). Unknown errors are logged and become UNKNOWN / 500. */
export function writeError(req: IncomingMessage, res: ServerResponse, err: unknown, logger: Logger): void {
  const { status, body } = toOciBody(err);
  if (status >= 500) logger.error({ err }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof AuthChallenge) res.setHeader('WWW-Authenticate', err.wwwAuthenticate);
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(payload) });
  res.end(req.method === 'HEAD' ? undefined : payload);
}

/** Reads a small body whole (manifests); refuses more than `limit` bytes without reading them. */
export async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new RegistryError('SIZE_INVALID', `body of ${declared} bytes exceeds the ${limit} byte limit`, { limit }, 413);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RegistryError('SIZE_INVALID', `body exceeds the ${limit} byte limit`, { limit }, 413);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** True when the request carries a body (a length above zero or chunked encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Bytes per AppendUpload data message. */
const MESSAGE_SIZE = 1024 * 1024;

/**
 * Streams the request body into an AppendUpload call with backpressure. If
 * blob-upload fails first (size limit, the session's time limit), reading
 * stops and the error is returned; if the client goes away, or sends nothing
 * for `idleMs`, the call is cancelled (the caller then closes the connection).
 */
export async function streamBodyToUpload(
  req: IncomingMessage,
  call: ClientWritableStream<blobupload.AppendUploadRequest>,
  response: Promise<blobupload.AppendUploadResponse>,
  idleMs: number,
): Promise<blobupload.AppendUploadResponse> {
  let settled = false;
  const outcome = response.finally(() => {
    settled = true;
  });
  // Rejection is observed below; avoid an unhandled-rejection warning meanwhile.
  outcome.catch(() => undefined);

  // Few large messages cost far less in grpc-js than many 16-64 KiB ones.
  let pending: Buffer[] = [];
  let pendingSize = 0;
  const flush = (): boolean => {
    if (pendingSize === 0) return true;
    const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingSize);
    pending = [];
    pendingSize = 0;
    return call.write({ part: { $case: 'data', data } });
  };

  await new Promise<void>((resolve, reject) => {
    let idle: NodeJS.Timeout | undefined;
    const watchIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        cleanup();
        call.cancel();
        reject(new RegistryError('BLOB_UPLOAD_INVALID', `the upload sent no data for ${Math.round(idleMs / 1000)} seconds`, undefined, 408));
      }, idleMs);
    };
    watchIdle();
    const onData = (chunk: Buffer) => {
      watchIdle();
      if (settled) return;
      pending.push(chunk);
      pendingSize += chunk.length;
      if (pendingSize >= MESSAGE_SIZE && !flush()) {
        // Waiting on blob-upload is not the client's idleness.
        req.pause();
        clearTimeout(idle);
        call.once('drain', () => {
          watchIdle();
          req.resume();
        });
      }
    };
    const onEnd = () => {
      cleanup();
      flush();
      call.end();
      resolve();
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      call.cancel();
      reject(new RegistryError('BLOB_UPLOAD_INVALID', 'client closed the connection during the upload'));
    };
    const onSettled = () => {
      // blob-upload answered early (an error): stop reading the client's bytes.
      cleanup();
      req.pause();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    outcome.then(onSettled, onSettled);
  });
  return outcome;
}

