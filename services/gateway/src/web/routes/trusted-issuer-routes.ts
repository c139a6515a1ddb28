import { Router } from 'express';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { users } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import { jsonRoutes } from '../api-context';
import { answered } from '../api-shapes';
import type { WebCallers } from '../web-callers';

/** A workspace's trusted CI issuers, for its admins: UserService calls forwarded to auth with the caller's assertion. */
export function trustedIssuerRoutes(deps: { users: users.UserServiceClient; web: WebCallers; logger: Logger }): Router {
  const { users: client, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);
  const base = '/workspaces/:workspace/trusted-issuers';
  const message = (t: users.TrustedIssuer) => ({
    id: t.id,
    name: t.name,
    kind: t.kind,
    issuerUrl: t.issuerUrl,
    jwksUrl: t.jwksUrl,
    repositoryClaim: t.repositoryClaim,
    mappings: t.mappings.map((m) => ({ claimValue: m.claimValue, sourceRepository: m.sourceRepository, pullSourceRepositories: m.pullSourceRepositories })),
    createdAt: t.createdAt,
  });

  router.get(
    base,
    route(webApi.listTrustedIssuers, async ({ req, actor, as }) => {
      const { trustedIssuers } = await unaryCall(client.listTrustedIssuers.bind(client), { workspaceSlug: String(req.params.workspace) }, as(await actor()));
      return { trustedIssuers: trustedIssuers.map(message) };
    }),
  );
  router.post(
    base,
    route(webApi.createTrustedIssuer, async ({ req, actor, as, body }) => {
      const created = await unaryCall(
        client.createTrustedIssuer.bind(client),
        {
          workspaceSlug: String(req.params.workspace),
          name: body.name,
          kind: body.kind,
          issuerUrl: body.issuerUrl,
          jwksUrl: body.jwksUrl,
          repositoryClaim: body.repositoryClaim,
          mappings: body.mappings.map((m) => ({ claimValue: m.claimValue, sourceRepository: m.sourceRepository, sourceRepositoryId: '', pullSourceRepositories: m.pullSourceRepositories, pullSourceRepositoryIds: [] })),
        },
        as(await actor()),
      );
      return { trustedIssuer: message(answered(created.trustedIssuer, 'trustedIssuer')) };
    }, 201),
  );
  router.delete(
    `${base}/:id`,
    route(webApi.deleteTrustedIssuer, async ({ req, actor, as }) => {
      await unaryCall(client.deleteTrustedIssuer.bind(client), { workspaceSlug: String(req.params.workspace), id: String(req.params.id) }, as(await actor()));
      return {};
    }),
  );
  return router;
}
