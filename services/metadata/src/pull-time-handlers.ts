import type { AsyncService } from '@ocireg/grpc';
import type { metadata } from '@ocireg/proto';
import type { PullTimes } from './pull-times';
import { invalid } from './validation';

type Server = AsyncService<metadata.RegistryMetadataServiceServer>;

/** RecordPulls and ListPullTimes (issue 24): the gateway's batches of pulls, and the times its listings show. Only the gateway may call them (libs/topology). */
export function pullTimeHandlers(pullTimes: PullTimes): Pick<Server, 'recordPulls' | 'listPullTimes'> {
  return {
    async recordPulls(request) {
      const pulls = request.pulls.map((pull) => ({ repository: pull.name, tag: pull.tag, digest: pull.digest, pulledAt: parseTime(pull.pulledAt) }));
      return pullTimes.record(pulls);
    },
    async listPullTimes(request) {
      const found = await pullTimes.of(request.name, request.tags, request.digests);
      const times = (entries: Map<string, Date>) => [...entries].map(([reference, at]) => ({ reference, lastPulledAt: at.toISOString() }));
      return { tags: times(found.tags), manifests: times(found.manifests) };
    },
  };
}

/** An RFC 3339 time (as the gateway writes them: Date.toISOString()). */
function parseTime(value: string): Date {
  const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) throw invalid('pulls.pulled_at', 'must be an RFC 3339 time, e.g. 2024-11-22T10:00:00Z');
  return at;
}
