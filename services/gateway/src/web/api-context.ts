import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { RegistryError } from '@ocireg/errors';
import type { ClientCallOptions } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { AdminCaller } from '../admin/admin-callers';
import { checkTextFields } from '../text-input';
import { requireAssertion, type WebCaller, type WebCallers } from './web-callers';

/** What a JSON API handler gets: the request, who is calling (resolved on demand), and call options for them. */
export interface ApiContext {
  req: Request;
  res: Response;
  requestId: string;
  logger: Logger;
  /** The caller; 401 without credentials, 403 for a session's cross-site or CSRF-less change. */
  caller(): Promise<WebCaller>;
  /** The caller, who must hold a user assertion (a session or an API token). */
  actor(): Promise<AdminCaller>;
  /** gRPC options forwarding the caller's assertion (metadata and auth check it). */
  as(caller: AdminCaller): ClientCallOptions;
  /** A query parameter (the first, if repeated); "" when absent. */
  query(name: string): string;
  /** A string field of the JSON body; "" when absent. */
  field(name: string): string;
}

/**
 * Wraps a handler: every string of the request (path parameters, query, JSON
 * body) is checked first (text-input.ts); whatever the handler returns is sent
 * as JSON (status 200, or `status`), whatever it throws goes to the JSON error handler.
 */
export function jsonRoute(callers: WebCallers, logger: Logger, handler: (ctx: ApiContext) => Promise<unknown>, status = 200): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = String(res.getHeader('x-request-id') ?? '');
    let resolved: Promise<WebCaller> | undefined;
    const ctx: ApiContext = {
      req,
      res,
      requestId,
      logger: logger.child({ requestId }),
      caller: () => (resolved ??= callers.of(req, requestId)),
      actor: async () => requireAssertion(await ctx.caller()),
      as: (caller) => ({ requestId, authorization: `Bearer ${caller.assertion}`, deadlineMs: 10_000 }),
      query: (name) => {
        const value = req.query[name];
        return typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : '';
      },
      field: (name) => {
        const value = (req.body as Record<string, unknown> | undefined)?.[name];
        if (value === undefined || value === null) return '';
        if (typeof value !== 'string') throw new RegistryError('INVALID_ARGUMENT', `${name}: must be a string`, { field: name });
        return value;
      },
    };
    const checkedThenHandled = async () => {
      checkTextFields(req.params);
      checkTextFields(req.query);
      checkTextFields(req.body);
      return handler(ctx);
    };
    checkedThenHandled().then(
      (body) => {
        if (res.headersSent) return;
        res.status(status).set('Cache-Control', 'no-store').json(body ?? {});
      },
      (err: unknown) => next(err),
    );
  };
}

/** A whole number from a query parameter within bounds, or a 400 naming it. */
export function intParam(value: string, name: string, fallback: number, max: number): number {
  if (value === '') return fallback;
  if (!/^\d{1,6}$/.test(value) || Number(value) > max) throw new RegistryError('INVALID_ARGUMENT', `${name} must be a whole number from 0 to ${max}`, { field: name });
  return Number(value);
}
