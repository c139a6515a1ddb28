import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { RegistryError } from '@ocireg/errors';
import { unaryCall, type RequestOrigin } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { INDEX_MEDIA_TYPES, isDigest, isTag, parseDigest, parseManifest, parseTag, type ParsedManifest } from '@ocireg/oci';
import type { metadata } from '@ocireg/proto';
import type { BlobStore } from '@ocireg/storage';
import type { AccessGuard } from '../access-guard';
import type { BlobStats } from './blob-stats';
import { readSmallBody, UNARY_DEADLINE_MS, type Exchange } from './exchange';
import { registryOrigin } from './registry-origin';
import type { ManifestCache } from './manifest-cache';
import type { PackageCheck } from './packages';
import type { PullBatcher } from './pull-batcher';
import { putManifestRequest } from './manifest-request';
import { TagLookups } from './tag-lookups';

export interface ManifestRoutesDeps {
  guard: AccessGuard;
  metadata: metadata.RegistryMetadataServiceClient;
  store: BlobStore;
  packages: PackageCheck;
  stats: BlobStats;
  cache: ManifestCache;
  maxManifestSize: number;
  /** Last-pulled times (issue 24): each manifest served is noted here, off the pull path. */
  pulls?: PullBatcher;
}

const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
/** Configs larger than this are not read for listing facts. */
const MAX_CONFIG_FOR_FACTS = 1024 * 1024;

/** GET, HEAD, PUT and DELETE of /v2/<name>/manifests/<reference>. */
export class ManifestRoutes {
  /** Lookups by tag, batched across the clients asking at the same time (see TagLookups). */
  private readonly byTag: TagLookups;

  constructor(private readonly deps: ManifestRoutesDeps) {
    this.byTag = new TagLookups(deps.metadata);
  }

  /**
   * A manifest, stored byte for byte. By digest it is served from the cache
   * when present; by tag, lookups of clients asking at the same time are
   * batched, never answered by one that began before they asked; HEAD asks
   * metadata for the digest, type and size only. A reference that is neither
   * a tag nor a digest names no manifest: MANIFEST_UNKNOWN, as for a missing tag.
   */
  async get({ req, res, requestId }: Exchange, name: string, reference: string): Promise<void> {
    await this.deps.guard.authorize(req, name, ['pull']);
    if (!namesManifest(reference)) throw noSuchManifest(name, reference);
    const head = req.method === 'HEAD';
    let manifest = isDigestReference(reference) ? this.deps.cache.get(name, reference) : undefined;
    let size = manifest?.content.length;
    if (!manifest) {
      const readAt = this.deps.cache.now();
      const found = isDigestReference(reference)
        ? await unaryCall(this.deps.metadata.getManifest.bind(this.deps.metadata), { name: name, reference, withoutContent: head }, { requestId, deadlineMs: UNARY_DEADLINE_MS })
        : await this.byTag.resolve({ repository: name, tag: reference, withoutContent: head, requestId });
      manifest = { digest: found.digest, mediaType: found.mediaType, content: Buffer.from(found.content) };
      size = head ? found.size : manifest.content.length;
      if (!head) this.deps.cache.put(name, manifest, readAt);
    }
    if (!acceptsManifest(req.headers.accept, manifest.mediaType)) {
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is a ${manifest.mediaType}, which the Accept header does not allow`, { mediaType: manifest.mediaType });
    }
    res.writeHead(200, { 'Content-Type': manifest.mediaType, 'Content-Length': size, 'Docker-Content-Digest': manifest.digest, ETag: `"${manifest.digest}"` });
    res.end(head ? undefined : manifest.content);
    this.notePull(name, reference, manifest.digest, head);
  }

  /**
   * Notes a manifest served, for its last-pulled time (a map update; the
   * batch goes to metadata later). A GET counts, by tag or by digest; a HEAD
   * by tag counts too, as containerd (kubelet, buildkit) resolves a tag with
   * a HEAD and then fetches the manifest by digest; a HEAD by digest does not
   * (clients check with it that a manifest exists, e.g. before pushing).
   */
  notePull(name: string, reference: string, digest: string, head: boolean): void {
    const byDigest = isDigestReference(reference);
    if (head && byDigest) return;
    this.deps.pulls?.record(name, byDigest ? '' : reference, digest);
  }

  async put(exchange: Exchange, name: string, reference: string): Promise<void> {
    const { req, res, requestId, logger } = exchange;
    // A push may not invent a reference: an invalid tag or digest is refused (400), not stored.
    if (reference.includes(':')) parseDigest(reference);
    else parseTag(reference);
    const actor = await this.deps.guard.authorize(req, name, ['push']);
    const origin = registryOrigin(this.deps.guard, req, actor);
    await this.deps.packages.require(name, actor.userId, requestId);
    const content = await readSmallBody(req, this.deps.maxManifestSize);
    const parsed = parseManifest(content, req.headers['content-type']);
    const algorithm = isDigestReference(reference) ? parseDigest(reference).algorithm : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(content).digest('hex')}`;
    if (isDigestReference(reference) && reference !== digest) {
      throw new RegistryError('DIGEST_INVALID', `manifest content has digest ${digest}, not ${reference}`, { digest: reference });
    }
    // Pushing by digest may name tags as ?tag= parameters (distribution-spec 1.1).
    const tags = isDigestReference(reference) ? exchange.url.searchParams.getAll('tag') : [reference];
    await unaryCall(
      this.deps.metadata.putManifest.bind(this.deps.metadata),
      putManifestRequest({ name, tags, digest, content, parsed }, actor.userId, false),
      { requestId, origin, deadlineMs: UNARY_DEADLINE_MS },
    );
    if (parsed.subjectDigest) res.setHeader('OCI-Subject', parsed.subjectDigest);
    if (isDigestReference(reference) && tags.length > 0) res.setHeader('OCI-Tag', tags);
    res.writeHead(201, { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 });
    res.end();
    // Off the push path: what the config says (platform, created) only matters to listings.
    this.describe(name, digest, parsed, origin, requestId).catch((err: unknown) => logger.warn({ err, digest }, 'could not read the listing facts of a manifest'));
  }

  /** Deletes a tag, or a manifest by digest; a reference that is neither names nothing to delete (MANIFEST_UNKNOWN). */
  async delete({ req, res, requestId }: Exchange, name: string, reference: string): Promise<void> {
    // Deleting a tag takes Write; deleting the image itself takes Admin.
    const actor = await this.deps.guard.authorize(req, name, [isDigestReference(reference) ? 'delete-manifest' : 'delete']);
    const origin = registryOrigin(this.deps.guard, req, actor);
    if (!namesManifest(reference)) throw noSuchManifest(name, reference);
    const { metadata } = this.deps;
    if (isDigestReference(reference)) {
      await unaryCall(metadata.deleteManifest.bind(metadata), { name: name, digest: reference }, { requestId, origin, deadlineMs: UNARY_DEADLINE_MS });
      this.deps.cache.forget(name, reference);
    } else {
      await unaryCall(metadata.deleteTag.bind(metadata), { name: name, tag: reference }, { requestId, origin, deadlineMs: UNARY_DEADLINE_MS });
    }
    res.writeHead(202, { 'Content-Length': 0 }).end();
  }

  /** Reads an image's config (small ones only) and records its platform and created time for listings. */
  private async describe(name: string, digest: string, parsed: ParsedManifest, origin: RequestOrigin, requestId: string): Promise<void> {
    const config = parsed.config;
    if (!config || !IMAGE_CONFIG_TYPES.has(config.mediaType) || config.size > MAX_CONFIG_FOR_FACTS) return;
    const blob = await this.deps.stats.stat(name, config.digest, requestId);
    if (blob.size > MAX_CONFIG_FOR_FACTS) return;
    const document = JSON.parse((await buffer(await this.deps.store.read(blob.storageKey))).toString('utf8')) as { os?: unknown; architecture?: unknown; variant?: unknown; created?: unknown };
    const parts = [document.os, document.architecture, document.variant].filter((part): part is string => typeof part === 'string' && /^[A-Za-z0-9._-]{1,40}$/.test(part));
    const platform = typeof document.os === 'string' && typeof document.architecture === 'string' ? parts.join('/') : '';
    const created = typeof document.created === 'string' && document.created.length <= 64 ? document.created : '';
    if (!platform && !created) return;
    await unaryCall(this.deps.metadata.describeManifest.bind(this.deps.metadata), { name: name, digest, platform, created }, { requestId, origin, deadlineMs: UNARY_DEADLINE_MS });
  }
}

/**
 * Content negotiation: manifests are stored as pushed and never converted, so
 * the only choice is whether to serve them. An index (multi-platform) goes only
 * to clients that list its type or a wildcard, as older clients cannot read one;
 * single manifests are always served (clients that omit a type still read them).
 */
export function acceptsManifest(accept: string | undefined, mediaType: string): boolean {
  if (!accept || !INDEX_MEDIA_TYPES.has(mediaType)) return true;
  const accepted = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase()).filter(Boolean);
  return accepted.length === 0 || accepted.some((type) => type === '*/*' || type === 'application/*' || type === mediaType);
}

/**
 * A digest reference rather than a tag: tags never hold ':', digests always do.
 * (isDigest alone builds and throws an error, stack trace included, for every
 * tag: 1% of the gateway's CPU under a load of manifest requests by tag.)
 */
function isDigestReference(reference: string): boolean {
  return reference.includes(':') && isDigest(reference);
}

/** A tag or a digest: a reference some manifest could be stored under. */
function namesManifest(reference: string): boolean {
  return isDigestReference(reference) || isTag(reference);
}

/** What a reference that names no manifest (such as `.INVALID_MANIFEST_NAME`) answers: what a missing tag answers. */
function noSuchManifest(name: string, reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is unknown to ${name}: it is neither a tag nor a digest`, { reference });
}
