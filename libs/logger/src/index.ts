import { randomUUID } from 'node:crypto';
import pino from 'pino';

export type Logger = pino.Logger;

/** Header (HTTP) and metadata key (gRPC) that carries the request id between services. */
export const REQUEST_ID_KEY = 'x-request-id';

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to read the lines back. */
  destination?: pino.DestinationStream;
}

export function createLogger({ service, level = 'info', destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Credentials must never reach the logs, whatever a caller passes in.
      redact: {
        paths: [
          'authorization', 'password', 'token', 'secret', 'sessionSecret', 'csrfToken', 'cookie',
          '*.authorization', '*.password', '*.token', '*.secret', '*.sessionSecret', '*.csrfToken', '*.cookie',
          'headers.authorization', 'headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** Accepts a caller's id only when it is short and plain, so it is safe to log and forward. */
export function requestIdFrom(candidate: unknown): string {
  if (typeof candidate === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(candidate)) return candidate;
  return randomUUID();
}
