import { z } from 'zod';
import { requiredText, text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { exact, nothing } from './shapes';

/** A registry a workspace replicates its new tags to (docs/replication.md); its password is never shown. */
export const replicationTarget = exact({
  name: z.string(),
  workspaceSlug: z.string(),
  url: z.string(),
  username: z.string(),
  hasPassword: z.boolean(),
  packagePattern: z.string(),
  destinationPrefix: z.string(),
  enabled: z.boolean(),
  createdAt: z.string(),
  counts: exact({ pending: z.number(), succeeded: z.number(), failed: z.number() }),
});

/** One tag pushed (or to be pushed) to a target. */
export const replicationJob = exact({
  id: z.string(),
  targetName: z.string(),
  repository: z.string(),
  destinationRepository: z.string(),
  tag: z.string(),
  digest: z.string(),
  state: z.enum(['pending', 'running', 'succeeded', 'failed', 'superseded']),
  attempts: z.number(),
  lastError: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  nextAttemptAt: z.string(),
  finishedAt: z.string(),
});

/** A workspace's replication targets and their jobs: listed by whoever may see the workspace, changed and retried by operators and workspace admins. */
export const replicationApi = {
  /** GET /workspaces/{ws}/replication-targets */
  listReplicationTargets: {
    response: exact({ targets: z.array(replicationTarget) }),
  },
  /** POST /workspaces/{ws}/replication-targets */
  createReplicationTarget: {
    body: z.object({
      name: requiredText('name is required'),
      url: requiredText('url is required'),
      username: text(),
      password: text(),
      packagePattern: requiredText('packagePattern is required'),
      destinationPrefix: text(),
      enabled: z.boolean().optional(),
    }),
    response: exact({ target: replicationTarget }),
  },
  /** DELETE /workspaces/{ws}/replication-targets/{name} */
  deleteReplicationTarget: { response: nothing },
  /** GET /workspaces/{ws}/replication-targets/{name}/jobs?state=&limit= */
  listReplications: {
    query: z.object({
      state: z.enum(['pending', 'running', 'succeeded', 'failed', 'superseded']).optional(),
      limit: z.coerce.number().int().min(1).max(500).optional(),
    }),
    response: exact({ jobs: z.array(replicationJob) }),
  },
  /** POST /workspaces/{ws}/replication-targets/{name}/jobs/{id}/retry */
  retryReplication: {
    response: exact({ job: replicationJob }),
  },
} satisfies Record<string, RouteSchema>;
