import { Router } from 'express';
import { RegistryError } from '@ocireg/errors';
import { unaryCall, type ClientCallOptions } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { users } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import { jsonRoutes } from '../api-context';
import { answered } from '../api-shapes';
import type { SessionCookies } from '../session-cookie';
import type { WebCallers } from '../web-callers';

/**
 * A workspace's service accounts and their tokens, for its admins:
 * UserService calls forwarded to auth with the caller's assertion (auth asks
 * metadata whether the caller administers the workspace).
 */
export function serviceAccountRoutes(deps: { users: users.UserServiceClient; cookies: SessionCookies; web: WebCallers; logger: Logger }): Router {
  const { users: client, cookies, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);
  const base = '/workspaces/:workspace/service-accounts';
  const message = (a: users.ServiceAccount) => ({ id: a.id, name: a.name, loginName: a.loginName, displayName: a.displayName, createdAt: a.createdAt });
  /** The workspace's service account the path names (NOT_FOUND for another workspace's). */
  const accountOf = async (workspace: string, id: string, options: ClientCallOptions): Promise<users.ServiceAccount> => {
    const { serviceAccounts } = await unaryCall(client.listServiceAccounts.bind(client), { workspaceSlug: workspace }, options);
    const found = serviceAccounts.find((a) => a.id === id);
    if (!found) throw new RegistryError('NOT_FOUND', `service account ${id.slice(0, 64)} does not exist in ${workspace.slice(0, 64)}`, { field: 'id' });
    return found;
  };

  router.get(
    base,
    route(webApi.listServiceAccounts, async ({ req, actor, as }) => {
      const { serviceAccounts } = await unaryCall(client.listServiceAccounts.bind(client), { workspaceSlug: String(req.params.workspace) }, as(await actor()));
      return { serviceAccounts: serviceAccounts.map(message) };
    }),
  );
  router.post(
    base,
    route(webApi.createServiceAccount, async ({ req, actor, as, body }) => {
      const created = await unaryCall(client.createServiceAccount.bind(client), { workspaceSlug: String(req.params.workspace), name: body.name, displayName: body.displayName }, as(await actor()));
      return { serviceAccount: message(answered(created.serviceAccount, 'serviceAccount')) };
    }, 201),
  );
  router.delete(
    `${base}/:id`,
    route(webApi.deleteServiceAccount, async ({ req, actor, as }) => {
      await unaryCall(client.deleteServiceAccount.bind(client), { workspaceSlug: String(req.params.workspace), serviceAccount: String(req.params.id) }, as(await actor()));
      return {};
    }),
  );
  router.get(
    `${base}/:id/tokens`,
    route(webApi.listServiceAccountTokens, async ({ req, actor, as }) => {
      const options = as(await actor());
      const account = await accountOf(String(req.params.workspace), String(req.params.id), options);
      const { tokens } = await unaryCall(client.listTokens.bind(client), { userId: account.id }, options);
      return { tokens: tokens.map((t) => ({ id: t.id, name: t.name, scopes: t.scopes, createdAt: t.createdAt, expiresAt: t.expiresAt, revokedAt: t.revokedAt })) };
    }),
  );
  router.post(
    `${base}/:id/tokens`,
    route(webApi.createServiceAccountToken, async ({ req, actor, as, body: { name, scopes, expiresInDays } }) => {
      const options = as(await actor());
      const account = await accountOf(String(req.params.workspace), String(req.params.id), options);
      const created = await unaryCall(client.createToken.bind(client), { userId: account.id, name, expiresInSeconds: expiresInDays * 86_400, scopes }, options);
      const token = answered(created.token, 'token');
      const host = new URL(cookies.expectedOrigin(req)).host;
      return {
        token: { id: token.id, name: token.name, scopes: token.scopes, createdAt: token.createdAt, expiresAt: token.expiresAt },
        secret: created.secret,
        dockerLogin: `docker login --username ${account.loginName} ${host}`,
      };
    }, 201),
  );
  router.delete(
    `${base}/:id/tokens/:tokenId`,
    route(webApi.revokeServiceAccountToken, async ({ req, actor, as }) => {
      const options = as(await actor());
      const account = await accountOf(String(req.params.workspace), String(req.params.id), options);
      const { tokens } = await unaryCall(client.listTokens.bind(client), { userId: account.id }, options);
      if (!tokens.some((t) => t.id === req.params.tokenId)) throw new RegistryError('NOT_FOUND', `token ${String(req.params.tokenId).slice(0, 40)} does not exist`, { field: 'tokenId' });
      await unaryCall(client.revokeToken.bind(client), { tokenId: String(req.params.tokenId) }, options);
      return {};
    }),
  );
  return router;
}
