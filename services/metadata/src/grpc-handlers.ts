import { RegistryError } from '@ocireg/errors';
import type { AsyncService } from '@ocireg/grpc';
import { metadata } from '@ocireg/proto';
import type { RegistryMetadata } from './registry-metadata';

/** Largest page of tags one call returns. */
const MAX_TAGS_PAGE = 1000;

type Server = AsyncService<metadata.RegistryMetadataServiceServer>;

export function registryMetadataHandlers(store: RegistryMetadata): Server {
  return {
    async linkBlob(request) {
      if (!request.blob) throw new RegistryError('BLOB_UNKNOWN', 'LinkBlob needs a blob');
      const result = await store.linkBlob(request.repository, request.blob);
      return { blob: result.blob, alreadyExisted: result.alreadyExisted };
    },
    async statBlob(request) {
      return { blob: await store.statBlob(request.repository, request.digest) };
    },
    async putManifest(request) {
      const digest = await store.putManifest({
        repository: request.repository,
        tag: request.tag || undefined,
        digest: request.digest,
        mediaType: request.mediaType,
        content: Buffer.from(request.content),
        blobDigests: request.blobDigests,
        manifestDigests: request.manifestDigests,
      });
      return { digest };
    },
    async getManifest(request) {
      const manifest = await store.getManifest(request.repository, request.reference);
      return { digest: manifest.digest, mediaType: manifest.mediaType, content: manifest.content };
    },
    async listTags(request) {
      const limit = Math.min(request.limit || MAX_TAGS_PAGE, MAX_TAGS_PAGE);
      return store.listTags(request.repository, limit, request.after);
    },
  };
}
