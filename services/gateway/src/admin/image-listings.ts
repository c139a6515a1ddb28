import { unaryCall } from '@ocireg/grpc';
import { admin, indexer, type metadata } from '@ocireg/proto';
import { requireVisibleImage, visibilityIn } from '../visibility';
import type { AdminCaller } from './admin-callers';
import { pullTimesOf, type Pulled } from './pull-time-listing';

const EVERYTHING: indexer.Visibility = { allPackages: true, sourceRepositoryIds: [], packageNames: [] };

/**
 * The admin API's image listings, served from the indexer's read model
 * (built from registry events, so a push shows up after the indexing delay),
 * showing only what the caller has a role on (operators see everything).
 */
export class ImageListings {
  constructor(
    private readonly client: indexer.IndexerServiceClient,
    private readonly metadata: metadata.RegistryMetadataServiceClient,
  ) {}

  async listImages(request: admin.ListImagesRequest, caller: AdminCaller, requestId: string): Promise<admin.ListImagesResponse> {
    const visibility = caller.operator ? EVERYTHING : await visibilityIn(this.metadata, caller.userId, request.workspaceSlug, requestId);
    const page = await unaryCall(
      this.client.listImages.bind(this.client),
      {
        workspace: request.workspaceSlug,
        project: request.projectSlug,
        sourceRepositoryId: request.sourceRepositoryId,
        namePrefix: request.namePrefix,
        sort: request.sort === admin.ImageSort.IMAGE_SORT_LAST_PUSHED ? indexer.ImageSort.IMAGE_SORT_LAST_PUSHED : indexer.ImageSort.IMAGE_SORT_NAME,
        pageSize: request.pageSize,
        pageToken: request.pageToken,
        visibility,
      },
      { requestId },
    );
    return { images: page.images.map(summaryOf), nextPageToken: page.nextPageToken };
  }

  async getImage(workspaceSlug: string, name: string, caller: AdminCaller, requestId: string): Promise<admin.GetImageResponse> {
    if (!caller.operator) await requireVisibleImage(this.metadata, caller.userId, workspaceSlug, name, requestId);
    const found = await unaryCall(this.client.getImage.bind(this.client), { workspace: workspaceSlug, name }, { requestId });
    const pulled = await pullTimesOf(this.metadata, `${workspaceSlug}/${name}`, found.tags.map((t) => t.tag), found.manifests, requestId);
    return {
      image: found.image && summaryOf(found.image),
      tags: found.tags.map((t) => tagOf(t, pulled.tag(t.tag))),
      manifests: found.manifests.map((m) => manifestOf(pulled.withManifest(m))),
    };
  }

  async getTag(workspaceSlug: string, name: string, tag: string, caller: AdminCaller, requestId: string): Promise<admin.GetTagResponse> {
    if (!caller.operator) await requireVisibleImage(this.metadata, caller.userId, workspaceSlug, name, requestId);
    const found = await unaryCall(this.client.getTag.bind(this.client), { workspace: workspaceSlug, name, tag }, { requestId });
    const listed = [...(found.manifest ? [found.manifest] : []), ...found.referrers];
    const pulled = await pullTimesOf(this.metadata, `${workspaceSlug}/${name}`, found.tag ? [found.tag.tag] : [], listed, requestId);
    return {
      tag: found.tag && tagOf(found.tag, pulled.tag(found.tag.tag)),
      manifest: found.manifest && manifestOf(pulled.withManifest(found.manifest)),
      referrers: found.referrers.map((r) => manifestOf(pulled.withManifest(r))),
    };
  }
}

function summaryOf(image: indexer.Image): admin.ImageSummary {
  return {
    name: image.name,
    sourceRepositoryId: image.sourceRepositoryId,
    tagCount: image.tagCount,
    manifestCount: image.manifestCount,
    lastPushedAt: image.lastPushedAt,
    fullName: image.fullName,
    projectSlug: image.project,
    totalSize: image.totalSize,
    lastDigest: image.lastDigest,
  };
}

function tagOf(tag: indexer.Tag, lastPulledAt: string): admin.TagDetails {
  return { tag: tag.tag, digest: tag.digest, updatedAt: tag.updatedAt, kind: tag.kind, lastPulledAt };
}

function manifestOf(manifest: Pulled<indexer.Manifest>): admin.ManifestDetails {
  return {
    digest: manifest.digest,
    mediaType: manifest.mediaType,
    size: manifest.size,
    platforms: manifest.platforms,
    artifactType: manifest.artifactType,
    pushedAt: manifest.pushedAt,
    tags: manifest.tags,
    kind: manifest.kind,
    created: manifest.created,
    layers: manifest.layers,
    subject: manifest.subject,
    children: manifest.children.map(manifestOf),
    signed: manifest.signed,
    lastPulledAt: manifest.lastPulledAt,
  };
}
