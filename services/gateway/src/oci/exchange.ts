import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '@ocireg/errors';
import type { Logger } from '@ocireg/logger';

export { hasBody, readSmallBody } from '../http-io';

/** One request of the OCI API and its response. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  requestId: string;
  logger: Logger;
}

/** Deadline of the gateway's short gRPC calls. */
export const UNARY_DEADLINE_MS = 30_000;

export function json({ req, res }: Exchange, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(payload) });
  res.end(req.method === 'HEAD' ? undefined : payload);
}

export function unsupported(method: string): RegistryError {
  return new RegistryError('UNSUPPORTED', `method ${method.slice(0, 20)} is not supported here`);
}
