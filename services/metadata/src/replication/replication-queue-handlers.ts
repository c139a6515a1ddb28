import type { AsyncService } from '@ocireg/grpc';
import type { metadata } from '@ocireg/proto';
import type { ReplicationJobs } from './replication-jobs';

/**
 * The replication queue's internal methods of RegistryMetadataService, for
 * the gateway's worker alone (topology: claimReplicationJobs and
 * completeReplicationJob name only the gateway). Claims carry the target's
 * opened password: it is never logged here.
 */
export function replicationQueueHandlers(jobs: ReplicationJobs): Pick<AsyncService<metadata.RegistryMetadataServiceServer>, 'claimReplicationJobs' | 'completeReplicationJob'> {
  return {
    async claimReplicationJobs(request) {
      return { jobs: await jobs.claim(request.limit) };
    },
    async completeReplicationJob(request, ctx) {
      const result = await jobs.complete(request);
      if (!result.accepted) ctx.logger.info({ job: request.jobId }, 'a replication report came after its lease ended; ignored');
      return result;
    },
  };
}
