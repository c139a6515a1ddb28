import { RegistryError } from '@ocireg/errors';
import type { AsyncService } from '@ocireg/grpc';
import { indexer } from '@ocireg/proto';
import type { ImageRow, Listings, TagView } from './listings';
import type { ManifestView } from './manifest-views';

/** How far the read model is behind (EventIndexer.status). */
export type IndexStatus = () => Promise<{ pendingEvents: number; oldestUnindexedAgeSeconds: number }>;

export function indexerHandlers(listings: Listings, status: IndexStatus): AsyncService<indexer.IndexerServiceServer> {
  return {
    async listTags(request) {
      const page = await listings.listTags({
        workspace: request.workspace,
        name: request.name,
        tagPrefix: request.tagPrefix,
        sort: request.sort === indexer.TagSort.TAG_SORT_LAST_PUSHED ? 'last-pushed' : 'name',
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return {
        tags: page.tags.map((entry) => ({ tag: tagMessage(entry.tag), manifest: entry.manifest && manifestMessage(entry.manifest), referrers: entry.referrers.map(manifestMessage) })),
        nextPageToken: page.nextPageToken,
      };
    },
    async getStatus() {
      return status();
    },
    async listImages(request) {
      // The gateway always says what the caller may see; without it, nothing is listed.
      if (!request.visibility) throw new RegistryError('INVALID_ARGUMENT', 'visibility is required', { field: 'visibility' });
      const page = await listings.listImages({
        workspace: request.workspace,
        visibility: request.visibility,
        project: request.project,
        sourceRepositoryId: request.sourceRepositoryId,
        namePrefix: request.namePrefix,
        sort: request.sort === indexer.ImageSort.IMAGE_SORT_LAST_PUSHED ? 'last-pushed' : 'name',
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { images: page.images.map(imageMessage), nextPageToken: page.nextPageToken };
    },
    async getImage(request) {
      const found = await listings.getImage(request.workspace, request.name);
      return { image: imageMessage(found.image), tags: found.tags.map(tagMessage), manifests: found.manifests.map(manifestMessage) };
    },
    async getTag(request) {
      const found = await listings.getTag(request.workspace, request.name, request.tag);
      return { tag: tagMessage(found.tag), manifest: manifestMessage(found.manifest), referrers: found.referrers.map(manifestMessage) };
    },
  };
}

function imageMessage({ repository, ...image }: ImageRow): indexer.Image {
  return { ...image, fullName: repository };
}

function tagMessage(tag: TagView): indexer.Tag {
  return { ...tag };
}

function manifestMessage(manifest: ManifestView): indexer.Manifest {
  return { ...manifest, children: manifest.children.map(manifestMessage) };
}
