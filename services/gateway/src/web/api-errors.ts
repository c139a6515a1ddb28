import type { ErrorRequestHandler } from 'express';
import { RegistryError, retryAfterSeconds, toOciBody } from '@ocireg/errors';
import type { Logger } from '@ocireg/logger';
import { AuthChallenge } from '../auth-guard';

/**
 * Errors of /api/v1 as JSON, in the same shape as the registry API's:
 * {"errors":[{"code","message","detail"}]}. Bad JSON and oversized bodies are
 * 400 and 413; anything unexpected is logged and answers UNKNOWN / 500 without its message.
 */
export function jsonErrors(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const known = bodyParserError(err) ?? err;
    const { status, body } = toOciBody(known);
    if (status >= 500) logger.error({ err, requestId: res.getHeader('x-request-id') }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (known instanceof AuthChallenge) res.setHeader('WWW-Authenticate', known.wwwAuthenticate);
    const retryAfter = retryAfterSeconds(known);
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    res.status(status).set('Cache-Control', 'no-store').json(body);
  };
}

/** express.json()'s errors carry a `type`: turn them into our catalogue's codes. */
function bodyParserError(err: unknown): RegistryError | undefined {
  const type = (err as { type?: unknown } | undefined)?.type;
  if (type === 'entity.parse.failed') return new RegistryError('INVALID_ARGUMENT', 'the body is not valid JSON');
  if (type === 'entity.too.large') return new RegistryError('SIZE_INVALID', 'the body is too large', undefined, 413);
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new RegistryError('INVALID_ARGUMENT', 'unsupported body encoding');
  if (typeof type === 'string') return new RegistryError('INVALID_ARGUMENT', 'the body could not be read');
  // Express's own 4xx (a path that does not decode, a file outside the UI's folder): a client error, said plainly.
  const status = (err as { status?: unknown } | undefined)?.status;
  if (!(err instanceof RegistryError) && typeof status === 'number' && status >= 400 && status < 500) {
    return status === 404 ? new RegistryError('NOT_FOUND', 'not found') : new RegistryError('INVALID_ARGUMENT', 'bad request', undefined, status);
  }
  return undefined;
}
