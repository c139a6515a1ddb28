import { RegistryError } from '@ocireg/errors';
import type { AsyncService } from '@ocireg/grpc';
import { originOfCall } from './change-origin';
import { metadata } from '@ocireg/proto';
import type { ListingSnapshot } from './listing-snapshot';
import type { Role } from './roles';
import type { MetadataModel } from './metadata-model';
import { pullTimeHandlers } from './pull-time-handlers';
import { replicationQueueHandlers } from './replication/replication-queue-handlers';

/** Largest page of tags one call returns. */
const MAX_TAGS_PAGE = 1000;

type Server = AsyncService<metadata.RegistryMetadataServiceServer>;

/** The aggregates the registry's calls reach. */
export type RegistryModel = Pick<MetadataModel, 'blobs' | 'manifests' | 'tags' | 'referrers' | 'catalog' | 'deletions' | 'access' | 'packagesOnPush' | 'providerRoles' | 'upstreams' | 'pullTimes' | 'replicationJobs'>;

export function registryMetadataHandlers(model: RegistryModel, snapshot: ListingSnapshot): Server {
  return {
    async linkBlob(request, ctx) {
      if (!request.blob) throw new RegistryError('BLOB_UNKNOWN', 'LinkBlob needs a blob');
      if (request.pullThrough && !request.userId) throw fillNeedsUser();
      const result = await model.blobs.link(request.name, request.blob, request.userId || undefined, originOfCall(ctx), request.pullThrough);
      return { blob: result.blob, alreadyExisted: result.alreadyExisted };
    },
    async statBlob(request) {
      return { blob: await model.blobs.stat(request.name, request.digest) };
    },
    async putManifest(request, ctx) {
      if (request.pullThrough && !request.userId) throw fillNeedsUser();
      const digest = await model.manifests.put({
        repository: request.name,
        tags: request.tags,
        digest: request.digest,
        mediaType: request.mediaType,
        content: Buffer.from(request.content),
        // Descriptors (with sizes) when the caller sends them, bare digests otherwise.
        blobDigests: request.blobDescriptors.length > 0 ? request.blobDescriptors.map((d) => d.digest) : request.blobDigests,
        manifestDigests: request.manifestDigests,
        subjectDigest: request.subjectDigest || undefined,
        artifactType: request.artifactType || undefined,
        annotations: parseAnnotations(request.annotationsJson),
        origin: originOfCall(ctx),
        platform: request.platform,
        created: request.created || undefined,
        blobSizes: request.blobDescriptors.length > 0 ? Object.fromEntries(request.blobDescriptors.map((d) => [d.digest, d.size])) : undefined,
        pusher: request.userId || undefined,
        pullThrough: request.pullThrough,
      });
      return { digest };
    },
    async getManifest(request) {
      const manifest = await model.manifests.get(request.name, request.reference, request.withoutContent);
      return { digest: manifest.digest, mediaType: manifest.mediaType, content: manifest.content, size: manifest.size };
    },
    async resolveTags(request) {
      const found = await model.tags.resolve(request.lookups.map(({ name, tag, withoutContent }) => ({ repository: name, tag, withoutContent })));
      return { resolutions: found.map((manifest) => ({ found: manifest !== undefined, manifest })) };
    },
    async describeManifest(request, ctx) {
      await model.manifests.describe(request.name, request.digest, { platform: request.platform, created: request.created }, originOfCall(ctx));
      return {};
    },
    async listTags(request) {
      const limit = Math.min(request.limit || MAX_TAGS_PAGE, MAX_TAGS_PAGE);
      return model.tags.list(request.name, limit, request.after);
    },
    async deleteManifest(request, ctx) {
      await model.deletions.deleteManifest(request.name, request.digest, originOfCall(ctx));
      return {};
    },
    async deleteTag(request, ctx) {
      await model.deletions.deleteTag(request.name, request.tag, originOfCall(ctx));
      return {};
    },
    async unlinkBlob(request, ctx) {
      await model.deletions.unlinkBlob(request.name, request.digest, originOfCall(ctx));
      return {};
    },
    async mountBlob(request, ctx) {
      return { blob: await model.blobs.mount(request.fromName, request.toName, request.digest, request.userId || undefined, originOfCall(ctx)) };
    },
    async listReferrers(request) {
      const referrers = await model.referrers.list(request.name, request.digest, request.artifactType || undefined);
      return { referrers: referrers.map(({ annotations, ...rest }) => ({ ...rest, annotationsJson: annotations ? JSON.stringify(annotations) : '' })) };
    },
    async resolveRole(request) {
      const result = request.sourceRepositoryId
        ? await model.access.roleOfSourceRepositoryCredential(request.name, request.sourceRepositoryId, request.pullSourceRepositoryIds)
        : await model.access.roleOn(request.userId || 'anonymous', request.name);
      // A package the user may not see exists only for those who may.
      return { role: result.role ?? '', packageExists: result.packageExists && (result.role !== undefined || result.publicPull), publicPull: result.publicPull };
    },
    async getVisibility(request) {
      const visibility = await model.access.visibility(request.userId, request.workspace);
      return {
        visible: visibility.visible,
        allPackages: visibility.allPackages,
        sourceRepositoryIds: visibility.memberRepositoryIds,
        packageNames: visibility.grantedPackages.map((g) => g.name),
      };
    },
    async ensurePackage(request) {
      await model.packagesOnPush.ensure(request.name, request.userId, { create: false });
      return {};
    },
    async exportListingSnapshot(request) {
      const page = await snapshot.page(request.pageSize, request.pageToken);
      return { eventsJson: page.events.map((event) => JSON.stringify(event)), nextPageToken: page.nextPageToken };
    },
    async checkWorkspaceAdmin(request) {
      return { workspaceAdmin: await model.access.isWorkspaceAdmin(request.userId, request.workspaceSlug) };
    },
    async listUserWorkspaces(request) {
      return { workspaceSlugs: await model.access.workspacesOf(request.userId) };
    },
    async resolveUpstream(request) {
      const upstream = await model.upstreams.resolve(request.workspaceSlug, request.name);
      if (!upstream) return { found: false, url: '', username: '', password: '', namespaces: [], tagTtlSeconds: 0 };
      return { found: true, url: upstream.url, username: upstream.username, password: upstream.password, namespaces: upstream.namespaces, tagTtlSeconds: upstream.tagTtlSeconds };
    },
    async resolveSourceRepositoryPaths(request) {
      return { sourceRepositoryIds: await model.access.sourceRepositoryIdsByPath(request.workspaceSlug, request.paths) };
    },
    async applyIdentityProviderRoles(request) {
      const grants = request.grants.map((g) => ({ workspaceSlug: g.workspaceSlug, sourceRepository: g.sourceRepository, role: (g.role === 'admin' || g.role === 'write' ? g.role : 'read') as Role }));
      return model.providerRoles.apply(request.userId, request.provider, grants);
    },
    async getSourceRepositoryRole(request) {
      const found = await model.access.sourceRepositoryRole(request.userId, request.sourceRepositoryId);
      return { exists: found.exists, role: found.role ?? '', workspaceSlug: found.workspaceSlug };
    },
    async listCatalog(request) {
      const limit = Math.min(request.limit || MAX_TAGS_PAGE, MAX_TAGS_PAGE);
      const page = await model.catalog.list(limit, request.after, request.viewerUserId);
      return { names: page.repositories, hasMore: page.hasMore };
    },
    ...pullTimeHandlers(model.pullTimes),
    ...replicationQueueHandlers(model.replicationJobs),
  };
}

/** A pull-through fill names the user it fills for: their role decides (upstreams/cache-packages.ts). */
function fillNeedsUser(): RegistryError {
  return new RegistryError('DENIED', 'a pull-through fill needs the user it fills for (user_id)');
}

function parseAnnotations(json: string): Record<string, string> | undefined {
  if (!json) return undefined;
  try {
    const value: unknown = JSON.parse(json);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, string>;
  } catch {
    // fall through
  }
  throw new RegistryError('MANIFEST_INVALID', 'annotations must be a JSON object');
}
