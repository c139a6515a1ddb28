import { Router } from 'express';
import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { auth } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import type { AccessGuard } from '../../access-guard';
import type { AdminCallers } from '../../admin/admin-callers';
import { jsonRoutes } from '../api-context';
import { requireSameOrigin } from '../request-guards';
import type { SessionCookies } from '../session-cookie';
import type { WebCallers } from '../web-callers';

/**
 * Sign-in, the current session, sign-out, and setting a password with an
 * invitation or reset link. Passwords and sessions are auth's: the gateway
 * only carries the session's secret in a cookie.
 */
export function sessionRoutes(deps: { auth: auth.AuthServiceClient; callers: AdminCallers; web: WebCallers; cookies: SessionCookies; guard: AccessGuard; logger: Logger }): Router {
  const { auth, callers, web, cookies, guard, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);

  router.post(
    '/session',
    route(webApi.signIn, async ({ req, res, requestId, origin, body: { email, password } }) => {
      // Login CSRF: a sign-in form elsewhere cannot sign a browser into our registry.
      requireSameOrigin(req, cookies.expectedOrigin(req));
      const clientIp = guard.clientAddress(req);
      const opened = await unaryCall(auth.createSession.bind(auth), { email, password, clientIp, userAgent: String(req.headers['user-agent'] ?? '').slice(0, 300) }, { requestId, origin });
      cookies.set(req, res, opened.sessionSecret, opened.maxAgeSeconds);
      const caller = await callers.session(opened.sessionSecret, { channel: 'json-api', clientAddress: clientIp, userAgent: req.headers['user-agent'] ?? '' }, requestId);
      return { user: { id: caller.userId, email: caller.email, operator: caller.operator }, csrfToken: caller.csrfToken, expiresAt: opened.expiresAt };
    }, 201),
  );

  router.get(
    '/session',
    route(webApi.currentSession, async ({ caller }) => {
      const who = await caller();
      return { user: { id: who.userId, email: who.email, operator: who.operator }, csrfToken: who.via === 'session' ? who.csrfToken : '', via: who.via };
    }),
  );

  router.delete(
    '/session',
    route(webApi.signOut, async ({ req, res, requestId, origin, caller }) => {
      const secret = cookies.read(req);
      if (secret) {
        try {
          await caller(); // the same Origin and CSRF checks as any change
        } catch (err) {
          // A session that already ended: just forget the cookie.
          if (!(err instanceof RegistryError && err.code === 'UNAUTHORIZED')) throw err;
        }
        await unaryCall(auth.endSession.bind(auth), { sessionSecret: secret }, { requestId, origin });
        callers.forgetSession(secret);
      }
      cookies.clear(req, res);
      return {};
    }),
  );

  router.post(
    '/password-links/inspect',
    route(webApi.inspectPasswordLink, async ({ requestId, body }) => {
      const link = await unaryCall(auth.inspectPasswordLink.bind(auth), { secret: body.secret }, { requestId });
      return { email: link.email, purpose: link.purpose, expiresAt: link.expiresAt };
    }),
  );

  router.post(
    '/password-links/redeem',
    route(webApi.redeemPasswordLink, async ({ req, requestId, origin, body }) => {
      requireSameOrigin(req, cookies.expectedOrigin(req));
      const redeemed = await unaryCall(auth.redeemPasswordLink.bind(auth), { secret: body.secret, password: body.password, clientIp: guard.clientAddress(req) }, { requestId, origin });
      return { email: redeemed.email };
    }),
  );
  return router;
}
