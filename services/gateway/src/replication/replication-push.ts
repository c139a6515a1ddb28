import { unaryCall } from '@ocireg/grpc';
import { parseManifest } from '@ocireg/oci';
import type { metadata } from '@ocireg/proto';
import type { BlobStore } from '@ocireg/storage';
import { UNARY_DEADLINE_MS } from '../oci/exchange';
import { ReplicationFailure, type TargetClient } from './target-client';

/** What one job pushes: `digest` of `repository` here to `destination` on the target as `tag`. */
export interface ReplicationWork {
  repository: string;
  destination: string;
  tag: string;
  digest: string;
  requestId: string;
}

/** An index's children are images; deeper nesting is refused rather than walked without end. */
const MAX_DEPTH = 2;

/**
 * Pushes one tag to a target, as `docker push` would: for each manifest (an
 * index's children first, each by digest) every blob the target lacks is
 * uploaded from storage (HEAD, else POST + one streamed PUT), then the
 * manifest is PUT byte for byte; the tag last, so the target never shows a
 * tag whose content is missing.
 */
export class ReplicationPush {
  constructor(
    private readonly deps: {
      metadata: metadata.RegistryMetadataServiceClient;
      store: BlobStore;
    },
  ) {}

  async run(work: ReplicationWork, target: TargetClient): Promise<void> {
    await this.pushManifest(work, target, work.digest, work.tag, 0);
  }

  private async pushManifest(work: ReplicationWork, target: TargetClient, digest: string, reference: string, depth: number): Promise<void> {
    const manifest = await this.manifest(work, digest);
    const parsed = parseManifest(manifest.content, manifest.mediaType);
    if (parsed.manifestDigests.length > 0 && depth >= MAX_DEPTH) throw new ReplicationFailure(`${work.repository}@${digest} nests indexes deeper than ${MAX_DEPTH}`);
    for (const child of parsed.manifestDigests) {
      const childManifest = await this.manifest(work, child);
      if ((await target.manifestDigest(work.destination, child, childManifest.mediaType)) === child) continue;
      await this.pushManifest(work, target, child, child, depth + 1);
    }
    for (const blob of parsed.blobs) await this.pushBlob(work, target, blob.digest);
    // A tag already at this digest on the target needs nothing (a retry after a lost answer).
    if (reference !== digest && (await target.manifestDigest(work.destination, reference, manifest.mediaType)) === digest) return;
    const stored = await target.putManifest(work.destination, reference, manifest.mediaType, manifest.content);
    if (stored && stored !== digest) throw new ReplicationFailure(`the target stored ${work.destination}:${reference} as ${stored}, not ${digest}`);
  }

  private async pushBlob(work: ReplicationWork, target: TargetClient, digest: string): Promise<void> {
    if (await target.hasBlob(work.destination, digest)) return;
    const { blob } = await unaryCall(this.deps.metadata.statBlob.bind(this.deps.metadata), { name: work.repository, digest }, { requestId: work.requestId, deadlineMs: UNARY_DEADLINE_MS });
    if (!blob) throw new ReplicationFailure(`blob ${digest} of ${work.repository} is not stored here`);
    await target.uploadBlob(work.destination, digest, blob.size, () => this.deps.store.read(blob.storageKey));
  }

  private async manifest(work: ReplicationWork, digest: string): Promise<{ mediaType: string; content: Buffer }> {
    const found = await unaryCall(this.deps.metadata.getManifest.bind(this.deps.metadata), { name: work.repository, reference: digest, withoutContent: false }, { requestId: work.requestId, deadlineMs: UNARY_DEADLINE_MS });
    return { mediaType: found.mediaType, content: Buffer.from(found.content) };
  }
}
