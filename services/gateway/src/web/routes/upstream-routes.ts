import { Router } from 'express';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { upstreams } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import { jsonRoutes } from '../api-context';
import { answered } from '../api-shapes';
import type { WebCallers } from '../web-callers';

const upstreamJson = (u: upstreams.Upstream) => ({
  name: u.name,
  workspaceSlug: u.workspaceSlug,
  url: u.url,
  username: u.username,
  hasPassword: u.hasPassword,
  sourceRepositoryId: u.sourceRepositoryId,
  namespaces: u.namespaces,
  tagTtlSeconds: u.tagTtlSeconds,
  createdAt: u.createdAt,
});

/**
 * A workspace's upstream registries (pull-through cache): UpstreamService
 * forwarded to metadata with the caller's assertion, which checks who may
 * list (those who see the workspace) and change (operators, workspace admins).
 */
export function upstreamRoutes(deps: { upstreams: upstreams.UpstreamServiceClient; web: WebCallers; logger: Logger }): Router {
  const { upstreams: client, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);

  router.get(
    '/workspaces/:workspace/upstreams',
    route(webApi.listUpstreams, async ({ req, actor, as }) => {
      const listed = await unaryCall(client.listUpstreams.bind(client), { workspaceSlug: String(req.params.workspace) }, as(await actor()));
      return { upstreams: listed.upstreams.map(upstreamJson) };
    }),
  );
  router.post(
    '/workspaces/:workspace/upstreams',
    route(
      webApi.createUpstream,
      async ({ req, actor, as, body }) => {
        const { upstream } = await unaryCall(client.createUpstream.bind(client), { workspaceSlug: String(req.params.workspace), ...body }, as(await actor()));
        return { upstream: upstreamJson(answered(upstream, 'upstream')) };
      },
      201,
    ),
  );
  router.delete(
    '/workspaces/:workspace/upstreams/:name',
    route(webApi.deleteUpstream, async ({ req, actor, as }) => {
      await unaryCall(client.deleteUpstream.bind(client), { workspaceSlug: String(req.params.workspace), name: String(req.params.name) }, as(await actor()));
      return {};
    }),
  );
  return router;
}
