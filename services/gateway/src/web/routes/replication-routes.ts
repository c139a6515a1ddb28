import { Router } from 'express';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { replication } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import { jsonRoutes } from '../api-context';
import { answered } from '../api-shapes';
import type { WebCallers } from '../web-callers';

const JOB_STATES = ['pending', 'running', 'succeeded', 'failed', 'superseded'] as const;

const targetJson = (t: replication.ReplicationTarget) => ({
  name: t.name,
  workspaceSlug: t.workspaceSlug,
  url: t.url,
  username: t.username,
  hasPassword: t.hasPassword,
  packagePattern: t.packagePattern,
  destinationPrefix: t.destinationPrefix,
  enabled: t.enabled,
  createdAt: t.createdAt,
  counts: { pending: t.counts?.pending ?? 0, succeeded: t.counts?.succeeded ?? 0, failed: t.counts?.failed ?? 0 },
});

const jobJson = (j: replication.ReplicationJob) => ({
  id: j.id,
  targetName: j.targetName,
  repository: j.repository,
  destinationRepository: j.destinationRepository,
  tag: j.tag,
  digest: j.digest,
  state: JOB_STATES.find((s) => s === j.state) ?? 'pending',
  attempts: j.attempts,
  lastError: j.lastError,
  createdAt: j.createdAt,
  updatedAt: j.updatedAt,
  nextAttemptAt: j.nextAttemptAt,
  finishedAt: j.finishedAt,
});

/**
 * A workspace's replication targets and their jobs (docs/replication.md):
 * ReplicationService forwarded to metadata with the caller's assertion, which
 * checks who may list (those who see the workspace) and change or retry
 * (operators, workspace admins). Passwords go in, never out.
 */
export function replicationRoutes(deps: { replication: replication.ReplicationServiceClient; web: WebCallers; logger: Logger }): Router {
  const { replication: client, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);
  const workspaceOf = (req: { params: Record<string, unknown> }) => String(req.params.workspace);

  router.get(
    '/workspaces/:workspace/replication-targets',
    route(webApi.listReplicationTargets, async ({ req, actor, as }) => {
      const listed = await unaryCall(client.listReplicationTargets.bind(client), { workspaceSlug: workspaceOf(req) }, as(await actor()));
      return { targets: listed.targets.map(targetJson) };
    }),
  );
  router.post(
    '/workspaces/:workspace/replication-targets',
    route(
      webApi.createReplicationTarget,
      async ({ req, actor, as, body }) => {
        const { target } = await unaryCall(client.createReplicationTarget.bind(client), { workspaceSlug: workspaceOf(req), ...body }, as(await actor()));
        return { target: targetJson(answered(target, 'target')) };
      },
      201,
    ),
  );
  router.delete(
    '/workspaces/:workspace/replication-targets/:name',
    route(webApi.deleteReplicationTarget, async ({ req, actor, as }) => {
      await unaryCall(client.deleteReplicationTarget.bind(client), { workspaceSlug: workspaceOf(req), name: String(req.params.name) }, as(await actor()));
      return {};
    }),
  );
  router.get(
    '/workspaces/:workspace/replication-targets/:name/jobs',
    route(webApi.listReplications, async ({ req, actor, as, query }) => {
      const listed = await unaryCall(
        client.listReplications.bind(client),
        { workspaceSlug: workspaceOf(req), targetName: String(req.params.name), state: query.state ?? '', limit: query.limit ?? 0 },
        as(await actor()),
      );
      return { jobs: listed.jobs.map(jobJson) };
    }),
  );
  router.post(
    '/workspaces/:workspace/replication-targets/:name/jobs/:id/retry',
    route(webApi.retryReplication, async ({ req, actor, as }) => {
      const { job } = await unaryCall(client.retryReplication.bind(client), { workspaceSlug: workspaceOf(req), targetName: String(req.params.name), jobId: String(req.params.id) }, as(await actor()));
      return { job: jobJson(answered(job, 'job')) };
    }),
  );
  return router;
}
