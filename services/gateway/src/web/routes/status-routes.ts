import { Router } from 'express';
import type { Logger } from '@ocireg/logger';
import { webApi, type ComponentState, type IndexingStatus } from '@ocireg/web-api';
import { jsonRoutes } from '../api-context';
import type { WebCallers } from '../web-callers';

/**
 * GET /status: how far the listings are behind and which services behind the
 * gateway answer, for any signed-in caller. A service that does not answer
 * says "unreachable" (and the indexing backlog `reachable: false`), never a
 * reassuring zero.
 */
export function statusRoutes(deps: { indexing: () => Promise<IndexingStatus>; components: () => Promise<Record<string, ComponentState>>; web: WebCallers; logger: Logger }): Router {
  const { indexing, components, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);
  router.get(
    '/status',
    route(webApi.getStatus, async (ctx) => {
      await ctx.caller();
      const [index, services] = await Promise.all([indexing(), components()]);
      return { indexing: index, components: services };
    }),
  );
  return router;
}
