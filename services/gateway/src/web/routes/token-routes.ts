import { Router } from 'express';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { users } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import { passwordLinkUrl } from '../../admin/password-link-url';
import { jsonRoutes } from '../api-context';
import { answered } from '../api-shapes';
import type { SessionCookies } from '../session-cookie';
import type { WebCallers } from '../web-callers';

const PURPOSES = { invite: users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_INVITE, reset: users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_RESET };

/**
 * Self-service: the caller's own API tokens (list, create - the secret shown
 * once with the docker login line -, revoke) and invitations to the web UI.
 * UserService calls forwarded to auth with the caller's assertion; auth
 * decides what a session or a token may create.
 */
export function tokenRoutes(deps: { users: users.UserServiceClient; cookies: SessionCookies; web: WebCallers; logger: Logger }): Router {
  const { users: client, cookies, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);

  router.get(
    '/tokens',
    route(webApi.listTokens, async ({ actor, as }) => {
      const caller = await actor();
      const { tokens } = await unaryCall(client.listTokens.bind(client), { userId: caller.userId }, as(caller));
      return { tokens: tokens.map((t) => ({ id: t.id, name: t.name, scopes: t.scopes, createdAt: t.createdAt, expiresAt: t.expiresAt, revokedAt: t.revokedAt })) };
    }),
  );
  router.post(
    '/tokens',
    route(webApi.createToken, async ({ req, actor, as, body: { name, scopes, expiresInDays }, logger: log }) => {
      const caller = await actor();
      const created = await unaryCall(client.createToken.bind(client), { userId: caller.userId, name, expiresInSeconds: expiresInDays * 86_400, scopes }, as(caller));
      const token = answered(created.token, 'token');
      log.info({ tokenId: token.id, scopes }, 'API token created from the web UI');
      const host = new URL(cookies.expectedOrigin(req)).host;
      return {
        token: { id: token.id, name: token.name, scopes: token.scopes, createdAt: token.createdAt, expiresAt: token.expiresAt },
        secret: created.secret,
        dockerLogin: `docker login --username ${caller.email} ${host}`,
      };
    }, 201),
  );
  router.delete(
    '/tokens/:tokenId',
    route(webApi.revokeToken, async ({ req, actor, as }) => {
      await unaryCall(client.revokeToken.bind(client), { tokenId: String(req.params.tokenId) }, as(await actor()));
      return {};
    }),
  );
  router.post(
    '/invitations',
    route(webApi.createInvitation, async ({ req, actor, as, body }) => {
      const caller = await actor();
      const link = await unaryCall(client.createPasswordLink.bind(client), { user: body.email, purpose: PURPOSES[body.purpose], expiresInSeconds: 0, workspaceSlug: body.workspace }, as(caller));
      return { email: link.email, expiresAt: link.expiresAt, url: passwordLinkUrl(cookies.expectedOrigin(req), link.secret) };
    }, 201),
  );
  return router;
}
