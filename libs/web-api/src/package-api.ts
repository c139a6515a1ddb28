import { z } from 'zod';
import { oneOf, pageSize, requiredText, text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { configFacts, exact, imageSummary, indexingStatus, manifest, roleWord, sourceRepository, tagDetails } from './shapes';

const SORT_MESSAGE = 'sort must be one of: name, last-pushed';
const REFERENCE_MESSAGE = 'sourceRepositoryId (or sourceRepository, a slug) is required';

/** A listing row, with the linked source repository's slug and name ("" where the caller may not see it, e.g. with a registry token). */
export const listedImage = imageSummary.extend({ sourceRepositorySlug: z.string(), sourceRepositoryName: z.string() });

/** A tag of a page of tags: its manifest (null while not indexed yet) and the signatures, attestations and SBOMs about it. */
export const tagEntry = tagDetails.extend({ manifest: manifest.nullable(), referrers: z.array(manifest) });

/** Packages and images: listings, an image's tags, manifests and config facts, creating a package, deleting tags, manifests and images. */
export const packageApi = {
  /** GET /workspaces/{ws}/images (last_pushed: the older spelling of last-pushed, still accepted) */
  listImages: {
    query: z.object({
      project: text(),
      /** A source repository's id or slug. */
      sourceRepository: text(),
      prefix: text(),
      sort: oneOf(['name', 'last-pushed', 'last_pushed'], SORT_MESSAGE).default('name'),
      page_size: pageSize(500),
      page_token: text(),
    }),
    response: exact({ images: z.array(listedImage), nextPageToken: z.string(), indexing: indexingStatus }),
  },
  /** GET /workspaces/{ws}/images/{name}/-/overview: the package, its source repository, the caller's role, its listing row (null while not indexed) */
  imageOverview: {
    response: exact({
      package: exact({ name: z.string(), workspaceSlug: z.string(), createdAt: z.string(), sourceRepositoryId: z.string() }),
      sourceRepository: sourceRepository.nullable(),
      image: imageSummary.nullable(),
      callerRole: roleWord,
      indexing: indexingStatus,
    }),
  },
  /** GET /workspaces/{ws}/images/{name}/-/tags */
  listTags: {
    query: z.object({ prefix: text(), sort: oneOf(['name', 'last-pushed'], SORT_MESSAGE).default('name'), page_size: pageSize(200), page_token: text() }),
    response: exact({ tags: z.array(tagEntry), nextPageToken: z.string() }),
  },
  /** GET /workspaces/{ws}/images/{name}/-/tags/{tag} (the admin API's GetTag) */
  getTag: {
    response: exact({ tag: tagDetails.optional(), manifest: manifest.optional(), referrers: z.array(manifest) }),
  },
  /** GET /workspaces/{ws}/images/{name}/-/manifests/{digest} */
  getManifest: {
    response: exact({
      digest: z.string(),
      mediaType: z.string(),
      size: z.number(),
      /** The manifest as stored, parsed; null when it is larger than 256 KiB or not JSON. */
      manifest: z.unknown(),
      /** null: not an image config, too large or unreadable. */
      config: configFacts.nullable(),
    }),
  },
  /** GET /workspaces/{ws}/images/{name}: every tag and manifest (the admin API's GetImage) */
  getImage: {
    response: exact({ image: imageSummary.optional(), tags: z.array(tagDetails), manifests: z.array(manifest) }),
  },
  /** POST /workspaces/{ws}/packages (201), by source repository Admins; the source repository by id, or by slug (with project where two projects have one) */
  createPackage: {
    body: z
      .object({ name: requiredText('name is required'), sourceRepositoryId: text(), sourceRepository: text(), project: text() })
      .superRefine(({ sourceRepositoryId, sourceRepository }, ctx) => {
        if (!sourceRepositoryId && !sourceRepository) ctx.addIssue({ code: 'custom', path: ['sourceRepositoryId'], message: REFERENCE_MESSAGE });
      }),
    response: exact({ package: exact({ id: z.string(), workspaceSlug: z.string(), name: z.string(), sourceRepositoryId: z.string(), createdAt: z.string() }) }),
  },
  /** DELETE /workspaces/{ws}/images/{name}/-/tags/{tag} (Write) */
  deleteTag: {
    response: exact({ deleted: exact({ tag: z.string() }), note: z.string() }),
  },
  /** DELETE /workspaces/{ws}/images/{name} (Admin): how many manifests and tags went */
  deleteImage: {
    response: exact({ deleted: exact({ manifests: z.number(), tags: z.number() }), note: z.string() }),
  },
  /** DELETE /workspaces/{ws}/images/{name}/-/manifests/{digest} (Admin): the tags that named it went with it */
  deleteManifest: {
    response: exact({ deleted: exact({ digest: z.string(), tags: z.array(z.string()) }), note: z.string() }),
  },
} satisfies Record<string, RouteSchema>;
