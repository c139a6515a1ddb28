import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { upstreams } from '@ocireg/proto';
import type { Access } from '../access';
import type { Caller, CallerResolver } from '../callers';
import type { UpstreamRecord, Upstreams } from './upstreams';

/** Revalidated every five minutes unless the upstream says otherwise. */
const DEFAULT_TAG_TTL_SECONDS = 300;

const message = (u: UpstreamRecord): upstreams.Upstream => ({ ...u });

/**
 * UpstreamService, as the gateway's admin port forwards it with the caller's
 * assertion: operators and workspace admins change a workspace's upstreams;
 * whoever may see the workspace lists them. Passwords go in, never out.
 */
export function upstreamHandlers(model: { upstreams: Upstreams; access: Access }, callers: CallerResolver): AsyncService<upstreams.UpstreamServiceServer> {
  const workspaceAdmin = async (ctx: CallContext, workspaceSlug: string): Promise<Caller> => {
    const caller = callers.changer(ctx);
    if (!caller.operator && !(await model.access.isWorkspaceAdmin(caller.userId, workspaceSlug))) throw new RegistryError('DENIED', `only operators and admins of workspace ${workspaceSlug} may do this`);
    return caller;
  };
  const reader = async (ctx: CallContext, workspaceSlug: string): Promise<void> => {
    const caller = callers.reader(ctx);
    const visibility = await model.access.visibility(caller.userId, workspaceSlug, caller.operator);
    if (!visibility.visible) throw new RegistryError('NOT_FOUND', `workspace ${workspaceSlug} does not exist`, { field: 'workspace_slug' });
  };
  return {
    async createUpstream(request, ctx) {
      await workspaceAdmin(ctx, request.workspaceSlug);
      const created = await model.upstreams.create({ ...request, tagTtlSeconds: request.tagTtlSeconds ?? DEFAULT_TAG_TTL_SECONDS });
      return { upstream: message(created) };
    },
    async getUpstream(request, ctx) {
      await reader(ctx, request.workspaceSlug);
      return { upstream: message(await model.upstreams.get(request.workspaceSlug, request.name)) };
    },
    async listUpstreams(request, ctx) {
      await reader(ctx, request.workspaceSlug);
      return { upstreams: (await model.upstreams.list(request.workspaceSlug)).map(message) };
    },
    async deleteUpstream(request, ctx) {
      await workspaceAdmin(ctx, request.workspaceSlug);
      await model.upstreams.delete(request.workspaceSlug, request.name);
      return {};
    },
  };
}
