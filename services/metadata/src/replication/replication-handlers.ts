import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { replication } from '@ocireg/proto';
import type { Access } from '../access';
import type { Caller, CallerResolver } from '../callers';
import { originOfCall } from '../change-origin';
import type { ReplicationJobRecord, ReplicationJobs } from './replication-jobs';
import type { ReplicationTargetRecord, ReplicationTargets } from './replication-targets';

const targetMessage = (t: ReplicationTargetRecord): replication.ReplicationTarget => ({ ...t });
const jobMessage = (j: ReplicationJobRecord): replication.ReplicationJob => ({ ...j });

/**
 * ReplicationService, as the gateway's admin port forwards it with the
 * caller's assertion: operators and workspace admins create, delete and
 * retry; whoever may see the workspace lists targets and their jobs.
 * Passwords go in, never out.
 */
export function replicationHandlers(
  model: { replicationTargets: ReplicationTargets; replicationJobs: ReplicationJobs; access: Access },
  callers: CallerResolver,
): AsyncService<replication.ReplicationServiceServer> {
  const { replicationTargets: targets, replicationJobs: jobs } = model;
  const workspaceAdmin = async (ctx: CallContext, workspaceSlug: string): Promise<Caller> => {
    const caller = callers.changer(ctx);
    if (!caller.operator && !(await model.access.isWorkspaceAdmin(caller.userId, workspaceSlug))) throw new RegistryError('DENIED', `only operators and admins of workspace ${workspaceSlug.slice(0, 64)} may do this`);
    return caller;
  };
  const reader = async (ctx: CallContext, workspaceSlug: string): Promise<void> => {
    const caller = callers.reader(ctx);
    const visibility = await model.access.visibility(caller.userId, workspaceSlug, caller.operator);
    if (!visibility.visible) throw new RegistryError('NOT_FOUND', `workspace ${workspaceSlug.slice(0, 64)} does not exist`, { field: 'workspace_slug' });
  };
  return {
    async createReplicationTarget(request, ctx) {
      const caller = await workspaceAdmin(ctx, request.workspaceSlug);
      const target = await targets.create({ ...request, enabled: request.enabled ?? true }, originOfCall(ctx, caller));
      ctx.logger.info({ target: target.id, workspace: target.workspaceSlug, name: target.name, actor: caller.userId }, 'replication target created');
      return { target: targetMessage(target) };
    },
    async getReplicationTarget(request, ctx) {
      await reader(ctx, request.workspaceSlug);
      return { target: targetMessage(await targets.get(request.workspaceSlug, request.name)) };
    },
    async listReplicationTargets(request, ctx) {
      await reader(ctx, request.workspaceSlug);
      return { targets: (await targets.list(request.workspaceSlug)).map(targetMessage) };
    },
    async deleteReplicationTarget(request, ctx) {
      const caller = await workspaceAdmin(ctx, request.workspaceSlug);
      await targets.delete(request.workspaceSlug, request.name, originOfCall(ctx, caller));
      ctx.logger.info({ workspace: request.workspaceSlug, name: request.name, actor: caller.userId }, 'replication target deleted');
      return {};
    },
    async listReplications(request, ctx) {
      await reader(ctx, request.workspaceSlug);
      const targetId = await targets.idOf(request.workspaceSlug, request.targetName);
      return { jobs: (await jobs.list(targetId, { limit: request.limit, state: request.state })).map(jobMessage) };
    },
    async retryReplication(request, ctx) {
      const caller = await workspaceAdmin(ctx, request.workspaceSlug);
      const targetId = await targets.idOf(request.workspaceSlug, request.targetName);
      const job = await jobs.retry(targetId, request.jobId, originOfCall(ctx, caller), request.workspaceSlug);
      ctx.logger.info({ job: job.id, workspace: request.workspaceSlug, target: request.targetName, actor: caller.userId }, 'replication job retried');
      return { job: jobMessage(job) };
    },
  };
}
