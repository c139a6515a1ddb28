import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError, retryAfterSeconds, toOciBody } from '@ocireg/errors';
import type { Logger } from '@ocireg/logger';
import { AuthChallenge } from './auth-guard';

/** Writes the OCI error body (no body for HEAD), with Retry-After when the error says when to retry. Unknown errors are logged and become UNKNOWN / 500. */
export function writeError(req: IncomingMessage, res: ServerResponse, err: unknown, logger: Logger): void {
  const { status, body } = toOciBody(err);
  if (status >= 500) logger.error({ err }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof AuthChallenge) res.setHeader('WWW-Authenticate', err.wwwAuthenticate);
  const retryAfter = retryAfterSeconds(err);
  if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
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
