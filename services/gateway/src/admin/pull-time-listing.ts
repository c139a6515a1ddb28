import { unaryCall } from '@ocireg/grpc';
import type { metadata } from '@ocireg/proto';

/** Metadata's limit of tags (and of digests) per ListPullTimes call (MAX_PULL_TIME_LOOKUPS). */
const MAX_PER_CALL = 5000;

/** A manifest of a listing, with its index entries. */
interface Listed<M> {
  digest: string;
  children: M[];
}

/** A listed manifest with its last-pulled time, and its index entries with theirs. */
export type Pulled<M> = Omit<M, 'children'> & { lastPulledAt: string; children: Array<Pulled<M>> };

/** When a listing's tags and manifests were last pulled (RFC 3339; '' for never). */
export interface PullTimesOf {
  tag(tag: string): string;
  manifest(digest: string): string;
  /** The manifest with its last-pulled time, and its index entries' too. */
  withManifest<M extends Listed<M>>(manifest: M): Pulled<M>;
}

/**
 * Last-pulled times (issue 24) for the listings the indexer serves. The read
 * model is built from registry events, and pulls are not events (a stream of
 * them would swamp the indexer and every webhook consumer), so the times come
 * from metadata, the source of truth, in one indexed query per listing: the
 * listing shows them as of the gateways' last flush (PULL_FLUSH_SECONDS).
 */
export async function pullTimesOf(client: metadata.RegistryMetadataServiceClient, name: string, tags: string[], manifests: Array<Listed<unknown>>, requestId: string): Promise<PullTimesOf> {
  const digests = new Set<string>();
  const collect = (manifest: Listed<unknown>) => {
    digests.add(manifest.digest);
    for (const child of manifest.children as Array<Listed<unknown>>) collect(child);
  };
  for (const manifest of manifests) collect(manifest);
  const tagTimes = new Map<string, string>();
  const manifestTimes = new Map<string, string>();
  const wantedTags = [...new Set(tags)];
  const wantedDigests = [...digests];
  for (let start = 0; start < Math.max(wantedTags.length, wantedDigests.length); start += MAX_PER_CALL) {
    const request = { name, tags: wantedTags.slice(start, start + MAX_PER_CALL), digests: wantedDigests.slice(start, start + MAX_PER_CALL) };
    const found = await unaryCall(client.listPullTimes.bind(client), request, { requestId });
    for (const entry of found.tags) tagTimes.set(entry.reference, entry.lastPulledAt);
    for (const entry of found.manifests) manifestTimes.set(entry.reference, entry.lastPulledAt);
  }
  const manifest = (digest: string) => manifestTimes.get(digest) ?? '';
  const withManifest = <M extends Listed<M>>(listed: M): Pulled<M> => ({ ...listed, lastPulledAt: manifest(listed.digest), children: listed.children.map((child) => withManifest(child)) });
  return { tag: (tag) => tagTimes.get(tag) ?? '', manifest, withManifest };
}
