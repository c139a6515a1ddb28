import { Router } from 'express';
import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { users } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import type { UserResolver } from '../../admin/users-by-email';
import { jsonRoutes } from '../api-context';
import { answered } from '../api-shapes';
import type { SessionCookies } from '../session-cookie';
import type { WebCallers } from '../web-callers';

/** The username of `docker login` with a repository token (auth's REPOSITORY_TOKEN_USERNAME). */
const REPOSITORY_TOKEN_USERNAME = 'repository-token';

/**
 * A source repository's tokens (pipelines' credentials that no person owns):
 * listed, created (the secret shown once with the docker login line) and
 * revoked by its Admins. UserService calls forwarded to auth with the
 * caller's assertion; auth asks metadata whether the caller is Admin there.
 */
export function repositoryTokenRoutes(deps: { users: users.UserServiceClient; people: UserResolver; cookies: SessionCookies; web: WebCallers; logger: Logger }): Router {
  const { users: client, people, cookies, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);

  router.get(
    '/repositories/:sourceRepositoryId/tokens',
    route(webApi.listRepositoryTokens, async ({ req, requestId, actor, as }) => {
      const { tokens } = await unaryCall(client.listRepositoryTokens.bind(client), { sourceRepositoryId: String(req.params.sourceRepositoryId) }, as(await actor()));
      const emails = await people.emailsOf([...new Set(tokens.map((t) => t.createdBy).filter(Boolean))], requestId);
      return {
        tokens: tokens.map((t) => ({ id: t.id, name: t.name, scopes: t.scopes, createdAt: t.createdAt, expiresAt: t.expiresAt, revokedAt: t.revokedAt, createdBy: emails.get(t.createdBy) ?? '' })),
      };
    }),
  );
  router.post(
    '/repositories/:sourceRepositoryId/tokens',
    route(webApi.createRepositoryToken, async ({ req, actor, as, body: { name, write, expiresInDays }, logger: log }) => {
      const scopes = write ? ['read:package', 'write:package'] : ['read:package'];
      const created = await unaryCall(
        client.createRepositoryToken.bind(client),
        { sourceRepositoryId: String(req.params.sourceRepositoryId), name, expiresInSeconds: expiresInDays * 86_400, scopes },
        as(await actor()),
      );
      const token = answered(created.token, 'token');
      log.info({ tokenId: token.id, sourceRepositoryId: token.sourceRepositoryId, scopes }, 'repository token created from the web UI');
      const host = new URL(cookies.expectedOrigin(req)).host;
      return {
        token: { id: token.id, name: token.name, scopes: token.scopes, createdAt: token.createdAt, expiresAt: token.expiresAt },
        secret: created.secret,
        dockerLogin: `docker login --username ${REPOSITORY_TOKEN_USERNAME} ${host}`,
      };
    }, 201),
  );
  router.delete(
    '/repositories/:sourceRepositoryId/tokens/:tokenId',
    route(webApi.revokeRepositoryToken, async ({ req, actor, as }) => {
      const caller = await actor();
      const sourceRepositoryId = String(req.params.sourceRepositoryId);
      // Only a token of the repository the path names (auth checks who may revoke it).
      const { tokens } = await unaryCall(client.listRepositoryTokens.bind(client), { sourceRepositoryId }, as(caller));
      if (!tokens.some((t) => t.id === req.params.tokenId)) throw notFound(String(req.params.tokenId));
      await unaryCall(client.revokeToken.bind(client), { tokenId: String(req.params.tokenId) }, as(caller));
      return {};
    }),
  );
  return router;
}

function notFound(tokenId: string) {
  return new RegistryError('NOT_FOUND', `token ${tokenId.slice(0, 40)} does not exist`, { field: 'tokenId' });
}
