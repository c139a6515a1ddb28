import { Router } from 'express';
import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { users } from '@ocireg/proto';
import { passwordLinkUrl } from '../../admin/password-link-url';
import { jsonRoute } from '../api-context';
import type { SessionCookies } from '../session-cookie';
import type { WebCallers } from '../web-callers';

const MAX_TOKEN_DAYS = 365;

/**
 * Self-service: the caller's own API tokens (list, create - the secret shown
 * once with the docker login line -, revoke) and invitations to the web UI.
 * UserService calls forwarded to auth with the caller's assertion; auth
 * decides what a session or a token may create.
 */
export function tokenRoutes(deps: { users: users.UserServiceClient; cookies: SessionCookies; web: WebCallers; logger: Logger }): Router {
  const { users: client, cookies, web, logger } = deps;
  const router = Router();
  const route = (handler: Parameters<typeof jsonRoute>[2], status?: number) => jsonRoute(web, logger, handler, status);

  router.get(
    '/tokens',
    route(async ({ actor, as }) => {
      const caller = await actor();
      const { tokens } = await unaryCall(client.listTokens.bind(client), { userId: caller.userId }, as(caller));
      return { tokens: tokens.map((t) => ({ id: t.id, name: t.name, scopes: t.scopes, createdAt: t.createdAt, expiresAt: t.expiresAt, revokedAt: t.revokedAt })) };
    }),
  );
  router.post(
    '/tokens',
    route(async ({ req, actor, as, field, logger: log }) => {
      const caller = await actor();
      const body = (req.body ?? {}) as { scopes?: unknown; expiresInDays?: unknown };
      const scopes = Array.isArray(body.scopes) && body.scopes.every((s) => typeof s === 'string') ? (body.scopes as string[]) : undefined;
      if (!scopes || scopes.length === 0) throw new RegistryError('INVALID_ARGUMENT', 'scopes: a list, e.g. ["read:package","write:package"]', { field: 'scopes' });
      const days = Number(body.expiresInDays);
      if (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS) throw new RegistryError('INVALID_ARGUMENT', `expiresInDays: a whole number of days from 1 to ${MAX_TOKEN_DAYS}`, { field: 'expiresInDays' });
      const created = await unaryCall(client.createToken.bind(client), { userId: caller.userId, name: field('name'), expiresInSeconds: days * 86_400, scopes }, as(caller));
      log.info({ tokenId: created.token?.id, scopes }, 'API token created from the web UI');
      const host = new URL(cookies.expectedOrigin(req)).host;
      return {
        token: created.token && { id: created.token.id, name: created.token.name, scopes: created.token.scopes, createdAt: created.token.createdAt, expiresAt: created.token.expiresAt },
        secret: created.secret,
        dockerLogin: `docker login --username ${caller.email} ${host}`,
      };
    }, 201),
  );
  router.delete(
    '/tokens/:tokenId',
    route(async ({ req, actor, as }) => {
      await unaryCall(client.revokeToken.bind(client), { tokenId: String(req.params.tokenId) }, as(await actor()));
      return {};
    }),
  );
  router.post(
    '/invitations',
    route(async ({ req, actor, as, field }) => {
      const caller = await actor();
      const purpose = field('purpose') === 'reset' ? users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_RESET : users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_INVITE;
      const link = await unaryCall(client.createPasswordLink.bind(client), { user: field('email'), purpose, expiresInSeconds: 0, workspaceSlug: field('workspace') }, as(caller));
      return { email: link.email, expiresAt: link.expiresAt, url: passwordLinkUrl(cookies.expectedOrigin(req), link.secret) };
    }, 201),
  );
  return router;
}
