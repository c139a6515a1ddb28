import { createHash } from 'node:crypto';
import { RegistryError } from '@ocireg/errors';
import { unaryCall, type RequestOrigin } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { isDigest, isTag, parseManifest } from '@ocireg/oci';
import type { metadata } from '@ocireg/proto';
import type { AccessGuard } from '../../access-guard';
import { UNARY_DEADLINE_MS, type Exchange } from '../exchange';
import { putManifestRequest } from '../manifest-request';
import { acceptsManifest, type ManifestRoutes } from '../manifests';
import { registryOrigin } from '../registry-origin';
import type { ProxyMetrics } from './proxy-metrics';
import type { TagFreshness } from './tag-freshness';
import { notFetched, UpstreamFailure, type UpstreamManifest } from './upstream-client';
import type { ProxyTarget } from './upstream-directory';

export interface ProxyManifestsDeps {
  guard: AccessGuard;
  metadata: metadata.RegistryMetadataServiceClient;
  manifests: ManifestRoutes;
  freshness: TagFreshness;
  metrics: ProxyMetrics;
  logger: Logger;
}

type Fetched = Required<UpstreamManifest>;

/**
 * GET and HEAD of a manifest of a name an upstream serves, local first: a
 * digest the cache has is served and never fetched again; a cached tag is
 * served as is until its TTL passes, then revalidated with a HEAD (a moved tag
 * is fetched), and served as cached when the upstream fails (unreachable, a
 * timeout, 429, 5xx, 401/403 or 404). What the cache lacks is fetched, its
 * digest checked, stored (a pull-through fill for the caller) and served.
 * Concurrent fetches of one reference are one.
 */
export class ProxyManifests {
  private readonly fetching = new Map<string, Promise<Fetched>>();

  constructor(private readonly deps: ProxyManifestsDeps) {}

  async get(exchange: Exchange, name: string, reference: string, target: ProxyTarget): Promise<void> {
    const { req, requestId } = exchange;
    const actor = await this.deps.guard.authorize(req, name, ['pull']);
    const { manifests, freshness, metrics } = this.deps;
    const byDigest = reference.includes(':') && isDigest(reference);
    if (!byDigest && !isTag(reference)) return manifests.get(exchange, name, reference);
    if (byDigest || freshness.fresh(name, reference, target.tagTtlMs)) {
      const served = await this.serveLocal(exchange, name, reference);
      if (served) return metrics.hit(target.label, 'manifest');
    }
    const cached = byDigest ? undefined : await this.cachedDigest(name, reference, requestId);
    let upstream: UpstreamManifest;
    try {
      upstream = await metrics.timed(target.label, () => target.client.manifest(target.repository, reference, cached ? 'HEAD' : 'GET'));
      if (cached && upstream.digest === cached) {
        freshness.mark(name, reference);
        metrics.hit(target.label, 'manifest');
        return manifests.get(exchange, name, reference);
      }
      if (!actor.userId) {
        if (cached) return manifests.get(exchange, name, reference);
        throw new RegistryError('DENIED', `${name}:${reference} is not cached; fetching it from the upstream takes signing in with a user who may pull it`);
      }
      metrics.miss(target.label, 'manifest');
      const wanted = upstream.content ? reference : upstream.digest || reference;
      upstream = await this.fetchOnce(name, reference, () => this.fetchAndStore(name, wanted, byDigest ? [] : [reference], target, registryOrigin(this.deps.guard, req, actor), requestId, upstream));
    } catch (err) {
      if (cached && err instanceof UpstreamFailure) {
        // Local first: the upstream's trouble never hides what the cache has.
        this.deps.logger.warn({ upstream: target.label, name, tag: reference, reason: err.message }, 'upstream failed; serving the cached tag');
        metrics.stale(target.label);
        return manifests.get(exchange, name, reference);
      }
      if (cached && isImmutableRefusal(err)) {
        // The upstream moved a tag an immutable rule holds here: the cache keeps, and serves, what it has.
        this.deps.logger.warn({ upstream: target.label, name, tag: reference, rule: immutableRuleOf(err) }, 'upstream moved an immutable tag; serving the cached one');
        freshness.mark(name, reference);
        return manifests.get(exchange, name, reference);
      }
      throw notFetched(err, `${name}:${reference}`, 'MANIFEST_UNKNOWN');
    }
    if (!byDigest) freshness.mark(name, reference);
    serve(exchange, upstream as Fetched);
    // Fetched from the upstream and stored: a pull of the cached copy like any other.
    manifests.notePull(name, reference, (upstream as Fetched).digest, req.method === 'HEAD');
  }

  /** The cached manifest, or false when the cache lacks it. */
  private async serveLocal(exchange: Exchange, name: string, reference: string): Promise<boolean> {
    try {
      await this.deps.manifests.get(exchange, name, reference);
      return true;
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN' && !exchange.res.headersSent) return false;
      throw err;
    }
  }

  private async cachedDigest(name: string, tag: string, requestId: string): Promise<string | undefined> {
    try {
      const found = await unaryCall(this.deps.metadata.getManifest.bind(this.deps.metadata), { name, reference: tag, withoutContent: true }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
      return found.digest;
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') return undefined;
      throw err;
    }
  }

  private fetchOnce(name: string, reference: string, fetch: () => Promise<Fetched>): Promise<Fetched> {
    const key = `${name}:${reference}`;
    let running = this.fetching.get(key);
    if (!running) {
      running = fetch().finally(() => this.fetching.delete(key));
      this.fetching.set(key, running);
    }
    return running;
  }

  /** Fetches a manifest (unless `got` has its bytes already), checks its digest and stores it with `tags`. */
  private async fetchAndStore(name: string, reference: string, tags: string[], target: ProxyTarget, origin: RequestOrigin, requestId: string, got: UpstreamManifest): Promise<Fetched> {
    const fetched = got.content ? got : await this.deps.metrics.timed(target.label, () => target.client.manifest(target.repository, reference, 'GET'));
    const content = fetched.content!;
    const algorithm = reference.includes(':') ? reference.split(':')[0]! : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(content).digest('hex')}`;
    const expected = reference.includes(':') ? reference : fetched.digest || got.digest;
    if (expected && expected !== digest) throw new RegistryError('DIGEST_INVALID', `${target.label} sent manifest bytes with digest ${digest}, not ${expected}; nothing was cached`, { digest: expected });
    const parsed = parseManifest(content, fetched.mediaType || undefined);
    await unaryCall(this.deps.metadata.putManifest.bind(this.deps.metadata), putManifestRequest({ name, tags, digest, content, parsed }, origin.actor ?? '', true), { requestId, origin, deadlineMs: UNARY_DEADLINE_MS });
    return { digest, mediaType: parsed.mediaType, size: content.length, content };
  }
}

function serve({ req, res }: Exchange, manifest: Fetched): void {
  if (!acceptsManifest(req.headers.accept, manifest.mediaType)) {
    throw new RegistryError('MANIFEST_UNKNOWN', `the manifest is a ${manifest.mediaType}, which the Accept header does not allow`, { mediaType: manifest.mediaType });
  }
  res.writeHead(200, { 'Content-Type': manifest.mediaType, 'Content-Length': manifest.size, 'Docker-Content-Digest': manifest.digest, ETag: `"${manifest.digest}"` });
  res.end(req.method === 'HEAD' ? undefined : manifest.content);
}

/** Metadata's refusal to move a tag an immutable tag rule matches (services/metadata/src/immutable). */
function isImmutableRefusal(err: unknown): boolean {
  return immutableRuleOf(err) !== undefined;
}

function immutableRuleOf(err: unknown): object | undefined {
  if (!(err instanceof RegistryError) || err.code !== 'DENIED') return undefined;
  const rule = (err.detail as { rule?: unknown } | undefined)?.rule;
  return typeof rule === 'object' && rule !== null ? rule : undefined;
}
