import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ClientCallOptions, RequestOrigin } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { BodyOf, Exactly, QueryOf, ResponseOf, RouteSchema } from '@ocireg/web-api';
import type { AdminCaller } from '../admin/admin-callers';
import { checkTextFields } from '../text-input';
import { parseRequest, queryValues } from './api-request';
import { requireAssertion, type WebCaller, type WebCallers } from './web-callers';

/** What a JSON API handler gets: the request (its body and query parsed by the route's schema), who is calling (resolved on demand), and call options for them. */
export interface ApiContext<R extends RouteSchema> {
  req: Request;
  res: Response;
  requestId: string;
  logger: Logger;
  body: BodyOf<R>;
  query: QueryOf<R>;
  /** The caller; 401 without credentials, 403 for a session's cross-site or CSRF-less change. */
  caller(): Promise<WebCaller>;
  /** The caller, who must hold a user assertion (a session or an API token). */
  actor(): Promise<AdminCaller>;
  /** Where the request came from (door, client address, user agent), for calls that record a change without a caller (sign-in, sign-out). */
  origin: RequestOrigin;
  /** gRPC options forwarding the caller's assertion (metadata and auth check it) and the request's origin. */
  as(caller: AdminCaller): ClientCallOptions;
}

/** A route's handler: it answers the route's response type (@ocireg/web-api), with no field the schema lacks. */
export type ApiHandler<R extends RouteSchema, T extends ResponseOf<R>> = (ctx: ApiContext<R>) => Promise<T & Exactly<ResponseOf<R>, T>>;

/**
 * The JSON routes of one router: `route(webApi.listTokens, handler)`. Every
 * string of the request (path parameters, query, JSON body) is checked first
 * (text-input.ts), then the body and query are parsed with the route's
 * schemas; what the handler returns is sent as JSON (status 200, or
 * `status`), what it throws goes to the JSON error handler.
 */
export function jsonRoutes(callers: WebCallers, logger: Logger) {
  return <R extends RouteSchema, T extends ResponseOf<R>>(route: R, handler: ApiHandler<R, T>, status = 200): RequestHandler =>
    (req: Request, res: Response, next: NextFunction) => {
      const requestId = String(res.getHeader('x-request-id') ?? '');
      const checkedThenHandled = async () => {
        checkTextFields(req.params);
        checkTextFields(req.query);
        checkTextFields(req.body);
        let resolved: Promise<WebCaller> | undefined;
        const origin: RequestOrigin = { channel: 'json-api', clientAddress: callers.clientAddress(req), userAgent: req.headers['user-agent'] ?? '' };
        const ctx: ApiContext<R> = {
          req,
          res,
          requestId,
          logger: logger.child({ requestId }),
          body: (route.body ? parseRequest(route.body, req.body ?? {}, 'body') : {}) as BodyOf<R>,
          query: (route.query ? parseRequest(route.query, queryValues(req.query), 'query') : {}) as QueryOf<R>,
          caller: () => (resolved ??= callers.of(req, requestId)),
          actor: async () => requireAssertion(await ctx.caller()),
          origin,
          as: (caller) => ({
            requestId,
            authorization: `Bearer ${caller.assertion}`,
            deadlineMs: 10_000,
            // Recorded with the change (the audit log).
            origin: { ...origin, actor: caller.userId, email: caller.email, tokenId: caller.tokenId, sessionId: caller.sessionId },
          }),
        };
        return handler(ctx);
      };
      checkedThenHandled().then(
        (body) => {
          if (res.headersSent) return;
          res.status(status).set('Cache-Control', 'no-store').json(body);
        },
        (err: unknown) => next(err),
      );
    };
}
