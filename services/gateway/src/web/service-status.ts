import type { Client } from '@grpc/grpc-js';
import { channelReady, unaryCall } from '@ocireg/grpc';
import { sharedSample } from '@ocireg/metrics';
import type { indexer } from '@ocireg/proto';
import type { ComponentState, IndexingStatus } from '@ocireg/web-api';

/** How long a status question waits for an answer. */
const ASK_MS = 2_000;

/** The indexer's backlog, asked once a second at most and shared by every request. */
export function indexingStatus(client: indexer.IndexerServiceClient): () => Promise<IndexingStatus> {
  return sharedSample(
    () =>
      unaryCall(client.getStatus.bind(client), {}, { deadlineMs: ASK_MS }).then(
        (status) => ({ reachable: true, pendingEvents: status.pendingEvents, oldestUnindexedAgeSeconds: status.oldestUnindexedAgeSeconds }),
        () => ({ reachable: false, pendingEvents: 0, oldestUnindexedAgeSeconds: 0 }),
      ),
    1000,
  );
}

/** Whether each service behind the gateway can be reached (its channel connects), asked once a second at most. */
export function componentStatus(clients: Record<string, Client>): () => Promise<Record<string, ComponentState>> {
  return sharedSample(async () => {
    const states = await Promise.all(Object.entries(clients).map(async ([name, client]) => [name, await channelReady(client, ASK_MS).then(() => 'up' as const, () => 'unreachable' as const)] as const));
    return Object.fromEntries(states);
  }, 1000);
}
