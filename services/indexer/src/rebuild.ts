import { unaryCall } from '@ocireg/grpc';
import type { metadata } from '@ocireg/proto';
import { rejectionOf, type ReadModel, type RegistryEvent } from './read-model';

/** Snapshot pages from metadata (the storage of truth), as registry events. */
export async function* snapshotFromMetadata(client: metadata.RegistryMetadataServiceClient, pageSize = 200): AsyncGenerator<RegistryEvent[]> {
  let pageToken = '';
  do {
    const page = await unaryCall(client.exportListingSnapshot.bind(client), { pageSize, pageToken }, { deadlineMs: 60_000 });
    yield page.eventsJson.map((json) => {
      const event: unknown = JSON.parse(json);
      const reason = rejectionOf(event);
      // Metadata wrote these moments ago with the same code: a rejection is a bug, not bad input.
      if (reason) throw new Error(`metadata's snapshot holds an event the indexer rejects: ${reason}`);
      return event as RegistryEvent;
    });
    pageToken = page.nextPageToken;
  } while (pageToken);
}

/** Re-creates the read model from metadata; returns how many snapshot events built it. */
export function rebuildFromMetadata(model: ReadModel, client: metadata.RegistryMetadataServiceClient): Promise<number> {
  return model.rebuild(snapshotFromMetadata(client));
}
