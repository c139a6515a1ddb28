import type { Request, Response } from 'express';
import { Router } from 'express';
import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { auth } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import type { AccessGuard } from '../../access-guard';
import { sameSecret } from '../request-guards';
import { jsonRoutes } from '../api-context';
import type { SessionCookies } from '../session-cookie';
import type { WebCallers } from '../web-callers';

/** The sign-in's state lives this long in its cookie (as long as auth remembers the attempt). */
const STATE_SECONDS = 600;
/** A refusal waits this long for the sign-in page to show it. */
const REFUSAL_SECONDS = 120;

/**
 * Single sign-on: the sign-in page's choices, then the trip to an identity
 * provider and back. The browser leaves with a state that auth remembers and
 * that the gateway also keeps in an HttpOnly cookie; the answer counts only
 * when the callback's state is the cookie's (another site cannot sign a
 * browser in with its own answer). Auth does the OIDC work: the gateway
 * carries the state and the session cookie. A refusal goes back to the
 * sign-in page in an HttpOnly cookie that the page's next call reads once:
 * text in the URL would let any link show a message of its choosing.
 */
export function oidcRoutes(deps: { auth: auth.AuthServiceClient; web: WebCallers; cookies: SessionCookies; guard: AccessGuard; logger: Logger }): Router {
  const { auth, web, cookies, guard, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);
  const callbackUrl = (req: Request, provider: string) => `${cookies.expectedOrigin(req)}/api/v1/oidc/${encodeURIComponent(provider)}/callback`;
  const backToSignIn = (req: Request, res: Response, message: string) => {
    res.appendHeader('Set-Cookie', cookies.serializeNamed(req, 'sign_in_refusal', Buffer.from(message.slice(0, 300)).toString('base64url'), REFUSAL_SECONDS));
    res.redirect(303, '/sign-in');
  };
  const takeRefusal = (req: Request, res: Response): string | undefined => {
    const refusal = cookies.readNamed(req, 'sign_in_refusal');
    if (refusal === undefined) return undefined;
    res.appendHeader('Set-Cookie', cookies.serializeNamed(req, 'sign_in_refusal', '', 0));
    return Buffer.from(refusal, 'base64url').toString('utf8').slice(0, 300) || undefined;
  };

  router.get(
    '/sign-in-methods',
    route(webApi.signInMethods, async ({ req, res, requestId }) => {
      const methods = await unaryCall(auth.listSignInMethods.bind(auth), {}, { requestId });
      res.set('Cache-Control', 'no-store');
      return {
        password: methods.passwordEnabled,
        providers: methods.providers.map((p) => ({ name: p.name, displayName: p.displayName, startUrl: `/api/v1/oidc/${encodeURIComponent(p.name)}/start` })),
        refusal: takeRefusal(req, res),
      };
    }),
  );

  router.get(
    '/oidc/:provider/start',
    route(webApi.startOidcSignIn, async ({ req, res, requestId, query }) => {
      const provider = String(req.params.provider);
      const begun = await unaryCall(auth.beginOidcSignIn.bind(auth), { provider, redirectUri: callbackUrl(req, provider), returnTo: query.returnTo ?? '/' }, { requestId });
      res.appendHeader('Set-Cookie', cookies.serializeNamed(req, 'oidc_state', begun.state, STATE_SECONDS));
      res.set('Cache-Control', 'no-store').redirect(303, begun.authorizationUrl);
      return {};
    }),
  );

  router.get(
    '/oidc/:provider/callback',
    route(webApi.completeOidcSignIn, async ({ req, res, requestId, query }) => {
      const provider = String(req.params.provider);
      const expected = cookies.readNamed(req, 'oidc_state');
      // The state is used up whatever happens next.
      res.appendHeader('Set-Cookie', cookies.serializeNamed(req, 'oidc_state', '', 0));
      if (!expected || !query.state || !sameSecret(expected, query.state)) {
        logger.info({ requestId, provider, withCookie: Boolean(expected) }, 'OIDC callback refused: its state is not this browser\'s');
        backToSignIn(req, res, 'Sign-in refused: this answer from the identity provider is not for this browser\'s sign-in. Start again.');
        return {};
      }
      try {
        const done = await unaryCall(
          auth.completeOidcSignIn.bind(auth),
          { provider, state: expected, callbackQuery: req.originalUrl.split('?')[1] ?? '', clientIp: guard.clientAddress(req), userAgent: String(req.headers['user-agent'] ?? '').slice(0, 300) },
          { requestId },
        );
        cookies.set(req, res, done.sessionSecret, done.maxAgeSeconds);
        res.redirect(303, done.returnTo || '/');
      } catch (err) {
        if (!(err instanceof RegistryError) || !['UNAUTHORIZED', 'DENIED', 'NOT_FOUND', 'UNAVAILABLE', 'INVALID_ARGUMENT'].includes(err.code)) throw err;
        backToSignIn(req, res, err.message);
      }
      return {};
    }),
  );
  return router;
}

