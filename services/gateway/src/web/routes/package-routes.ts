import { Router, type Request } from 'express';
import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { parseDigest } from '@ocireg/oci';
import { admin, indexer, type metadata } from '@ocireg/proto';
import { webApi, type IndexingStatus, type RouteSchema } from '@ocireg/web-api';
import type { AdminCaller } from '../../admin/admin-callers';
import type { ImageListings } from '../../admin/image-listings';
import { pullTimesOf } from '../../admin/pull-time-listing';
import { requireVisibleImage } from '../../visibility';
import { jsonRoutes, type ApiContext } from '../api-context';
import { answered, roleWord, sourceRepositoryJson } from '../api-shapes';
import type { ImageConfigs } from '../image-configs';
import { sourceRepositoryIdOf } from '../repository-refs';
import type { WebCallers } from '../web-callers';

/** Sort orders, as registryctl names them (last_pushed: the older spelling, still accepted). */
const SORTS = { name: admin.ImageSort.IMAGE_SORT_NAME, 'last-pushed': admin.ImageSort.IMAGE_SORT_LAST_PUSHED, last_pushed: admin.ImageSort.IMAGE_SORT_LAST_PUSHED };
const TAG_SORTS = { name: indexer.TagSort.TAG_SORT_NAME, 'last-pushed': indexer.TagSort.TAG_SORT_LAST_PUSHED };
const READ_SCOPES = ['read:package', 'write:package', 'admin:package'];
/** Manifests larger than this are described, not shown. */
const MAX_SHOWN_MANIFEST = 256 * 1024;

// Image names contain slashes; "-" cannot be a name component, so "/-/" separates what follows the name.
// Named groups: express puts them in req.params by name.
const WORKSPACE_IMAGES = '^/workspaces/(?<workspace>[^/]+)/images';
const NAME = '(?<name>(?:(?!/-/).)+)';
const IMAGES = new RegExp(`${WORKSPACE_IMAGES}/?$`);
const IMAGE = new RegExp(`${WORKSPACE_IMAGES}/${NAME}$`);
const OVERVIEW = new RegExp(`${WORKSPACE_IMAGES}/${NAME}/-/overview$`);
const TAGS = new RegExp(`${WORKSPACE_IMAGES}/${NAME}/-/tags/?$`);
const TAG = new RegExp(`${WORKSPACE_IMAGES}/${NAME}/-/tags/(?<tag>[^/]+)$`);
const MANIFEST = new RegExp(`${WORKSPACE_IMAGES}/${NAME}/-/manifests/(?<digest>[^/]+)$`);

/**
 * Packages and images: the listings (from the indexer's read model, showing
 * only what the caller has a role on), an image's tags, manifests and config
 * facts, creating a package and deleting tags and images. Changes are
 * AdminService calls forwarded to metadata with the caller's assertion:
 * metadata decides whether their role allows them.
 */
export function packageRoutes(deps: {
  admin: admin.AdminServiceClient;
  indexer: indexer.IndexerServiceClient;
  /** How far the listings are behind (shown beside every listing). */
  indexing: () => Promise<IndexingStatus>;
  metadata: metadata.RegistryMetadataServiceClient;
  listings: ImageListings;
  configs: ImageConfigs;
  web: WebCallers;
  logger: Logger;
}): Router {
  const { admin: client, indexer: index, indexing, metadata: registry, listings, configs, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);
  const indexStatus = (_requestId: string) => indexing();

  /** A reader of listings: a session, any package scope of an API token, or a registry token. */
  const reader = async (ctx: ApiContext<RouteSchema>): Promise<AdminCaller> => {
    const caller = await ctx.caller();
    if (!caller.scopes.some((scope) => READ_SCOPES.includes(scope))) throw new RegistryError('DENIED', 'reading listings needs a token with read:package (or a stronger package scope)');
    return caller;
  };
  /** The image must be one the caller may see (metadata says), else it does not exist. */
  const visible = async (ctx: ApiContext<RouteSchema>, workspace: string, name: string): Promise<AdminCaller> => {
    const caller = await reader(ctx);
    if (!caller.operator) await requireVisibleImage(registry, caller.userId, workspace, name, ctx.requestId);
    return caller;
  };

  router.get(
    IMAGES,
    route(webApi.listImages, async (ctx) => {
      const [workspace] = params(ctx.req);
      const { project, sourceRepository, prefix, sort, page_size: pageSize, page_token: pageToken } = ctx.query;
      const caller = await reader(ctx);
      const sourceRepositoryId = sourceRepository ? await sourceRepositoryIdOf(client, workspace, sourceRepository, project, ctx.as(caller)) : '';
      const [page, status, sourceRepositories] = await Promise.all([
        listings.listImages({ workspaceSlug: workspace, projectSlug: project, sourceRepositoryId, namePrefix: prefix, sort: SORTS[sort], pageSize, pageToken }, caller, ctx.requestId),
        indexStatus(ctx.requestId),
        // Names of the linked repositories (a registry token has no assertion to ask with: ids only).
        // Cosmetic: never the reason a listing fails (its own errors, e.g. NAME_UNKNOWN, are what the caller gets).
        caller.assertion
          ? unaryCall(client.listSourceRepositories.bind(client), { workspaceSlug: workspace, projectSlug: '', pageSize: 500, pageToken: '' }, ctx.as(caller)).then((r) => r.sourceRepositories, () => [])
          : Promise.resolve([]),
      ]);
      const byId = new Map(sourceRepositories.map((r) => [r.id, r]));
      return {
        images: page.images.map((image) => ({ ...image, sourceRepositorySlug: byId.get(image.sourceRepositoryId)?.slug ?? '', sourceRepositoryName: byId.get(image.sourceRepositoryId)?.name ?? '' })),
        nextPageToken: page.nextPageToken,
        indexing: status,
      };
    }),
  );

  router.get(
    OVERVIEW,
    route(webApi.imageOverview, async (ctx) => {
      const [workspace, name] = params(ctx.req);
      const caller = await ctx.actor();
      const as = ctx.as(caller);
      const [found, role, listed, status] = await Promise.all([
        unaryCall(client.getPackage.bind(client), { workspaceSlug: workspace, name }, as),
        unaryCall(client.getEffectiveRole.bind(client), { userId: caller.userId, fullName: `${workspace}/${name}` }, as),
        listings.listImages({ workspaceSlug: workspace, projectSlug: '', sourceRepositoryId: '', namePrefix: name, sort: admin.ImageSort.IMAGE_SORT_NAME, pageSize: 1, pageToken: '' }, caller, ctx.requestId),
        indexStatus(ctx.requestId),
      ]);
      const pkg = found.package!;
      const { sourceRepository } = await unaryCall(client.getSourceRepository.bind(client), { sourceRepositoryId: pkg.sourceRepositoryId }, as);
      const image = listed.images[0]?.name === name ? listed.images[0] : null;
      return {
        package: { name: pkg.name, workspaceSlug: pkg.workspaceSlug, createdAt: pkg.createdAt, sourceRepositoryId: pkg.sourceRepositoryId },
        sourceRepository: sourceRepository ? sourceRepositoryJson(sourceRepository) : null,
        image,
        callerRole: caller.operator ? 'admin' : roleWord(role.role),
        indexing: status,
      };
    }),
  );

  router.get(
    TAGS,
    route(webApi.listTags, async (ctx) => {
      const [workspace, name] = params(ctx.req);
      const { prefix, sort, page_size: pageSize, page_token: pageToken } = ctx.query;
      await visible(ctx, workspace, name);
      const page = await unaryCall(index.listTags.bind(index), { workspace, name, tagPrefix: prefix, sort: TAG_SORTS[sort], pageSize, pageToken }, { requestId: ctx.requestId });
      const tags = page.tags.map((entry) => answered(entry.tag, 'tag'));
      const listed = page.tags.flatMap((entry) => [...(entry.manifest ? [entry.manifest] : []), ...entry.referrers]);
      const pulled = await pullTimesOf(registry, `${workspace}/${name}`, tags.map((t) => t.tag), listed, ctx.requestId);
      return {
        tags: page.tags.map((entry, i) => ({
          ...tags[i]!,
          lastPulledAt: pulled.tag(tags[i]!.tag),
          manifest: entry.manifest ? pulled.withManifest(entry.manifest) : null,
          referrers: entry.referrers.map((r) => pulled.withManifest(r)),
        })),
        nextPageToken: page.nextPageToken,
      };
    }),
  );

  router.get(
    TAG,
    route(webApi.getTag, async (ctx) => {
      const [workspace, name, tag] = params(ctx.req);
      return listings.getTag(workspace, name, tag, await reader(ctx), ctx.requestId);
    }),
  );

  router.get(
    MANIFEST,
    route(webApi.getManifest, async (ctx) => {
      const [workspace, name, digest] = params(ctx.req);
      try {
        parseDigest(digest);
      } catch {
        throw new RegistryError('INVALID_ARGUMENT', 'digest: must be <algorithm>:<hex>, e.g. sha256:…', { field: 'digest' });
      }
      await visible(ctx, workspace, name);
      const repository = `${workspace}/${name}`;
      const stored = await unaryCall(registry.getManifest.bind(registry), { name: repository, reference: digest, withoutContent: false }, { requestId: ctx.requestId });
      const content = Buffer.from(stored.content);
      let document: { config?: { digest: string; mediaType: string; size: number } } | undefined;
      try {
        document = JSON.parse(content.toString('utf8')) as typeof document;
      } catch {
        document = undefined;
      }
      const config = await configs.factsOf(repository, document?.config, ctx.requestId);
      return { digest: stored.digest, mediaType: stored.mediaType, size: content.length, manifest: content.length <= MAX_SHOWN_MANIFEST ? (document ?? null) : null, config: config ?? null };
    }),
  );

  router.get(
    IMAGE,
    route(webApi.getImage, async (ctx) => {
      const [workspace, name] = params(ctx.req);
      return listings.getImage(workspace, name, await reader(ctx), ctx.requestId);
    }),
  );

  router.post(
    '/workspaces/:workspace/packages',
    route(webApi.createPackage, async (ctx) => {
      const workspaceSlug = String(ctx.req.params.workspace);
      const { name, project } = ctx.body;
      const caller = await ctx.actor();
      const sourceRepositoryId = await sourceRepositoryIdOf(client, workspaceSlug, ctx.body.sourceRepositoryId || ctx.body.sourceRepository, project, ctx.as(caller));
      const created = await unaryCall(client.createPackage.bind(client), { requestId: '', workspaceSlug, name, sourceRepositoryId, actorUserId: '' }, ctx.as(caller));
      ctx.logger.info({ workspace: workspaceSlug, name, sourceRepositoryId, actor: caller.userId }, 'package created');
      return { package: answered(created.package, 'package') };
    }, 201),
  );

  router.delete(
    TAG,
    route(webApi.deleteTag, async (ctx) => {
      const [workspaceSlug, name, tag] = params(ctx.req);
      const caller = await ctx.actor();
      await unaryCall(client.deleteTag.bind(client), { workspaceSlug, name, tag }, ctx.as(caller));
      return { deleted: { tag }, note: 'The tag is gone; storage no other tag or image uses is freed later by garbage collection.' };
    }),
  );

  router.delete(
    IMAGE,
    route(webApi.deleteImage, async (ctx) => {
      const [workspaceSlug, name] = params(ctx.req);
      const caller = await ctx.actor();
      const deleted = await unaryCall(client.deleteImage.bind(client), { workspaceSlug, name }, ctx.as(caller));
      return { deleted: { manifests: deleted.deletedManifests, tags: deleted.deletedTags }, note: 'Every tag and manifest is gone; the package stays, and its storage is freed later by garbage collection.' };
    }),
  );

  router.delete(
    MANIFEST,
    route(webApi.deleteManifest, async (ctx) => {
      const [workspaceSlug, name, digest] = params(ctx.req);
      const caller = await ctx.actor();
      const deleted = await unaryCall(client.deleteManifest.bind(client), { workspaceSlug, name, digest }, ctx.as(caller));
      return { deleted: { digest, tags: deleted.deletedTags }, note: 'The manifest and its tags are gone; its signatures follow, and storage nothing else uses is freed later by garbage collection.' };
    }),
  );

  return router;
}

/** The named captures of a RegExp route (workspace, name, then a tag or digest), "" where absent. */
function params(req: Request): [string, string, string] {
  const { workspace, name, tag, digest } = req.params as Record<string, string | undefined>;
  return [workspace ?? '', name ?? '', tag ?? digest ?? ''];
}
