import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName } from '@ocireg/oci';
import type { Logger } from '@ocireg/logger';
import type { Registry } from '@ocireg/metrics';
import type { BlobStore } from '@ocireg/storage';
import type { AccessGuard } from '../access-guard';
import type { ServiceClients } from '../clients';
import { checkParams } from '../text-input';
import { handleTokenRequest } from '../token-endpoint';
import { BlobStats } from './blob-stats';
import { BlobRoutes } from './blobs';
import type { ContentEpochs } from './content-epochs';
import { json, unsupported, type Exchange } from './exchange';
import { OciListings } from './listings';
import { ManifestCache } from './manifest-cache';
import { ManifestRoutes } from './manifests';
import { PackageCheck } from './packages';
import type { PullBatcher } from './pull-batcher';
import { mirrorScopes } from './proxy/mirror-hosts';
import { PullThrough, type PullThroughSettings } from './proxy/pull-through';
import type { OciRoute } from './routes';
import { RunningHashes } from './running-hashes';
import { UploadRoutes } from './uploads';

export interface RegistryApiDeps {
  clients: ServiceClients;
  store: BlobStore;
  guard: AccessGuard;
  limits: { uploadTimeLimitMs: number; uploadIdleTimeoutMs: number; maxManifestSize: number };
  /** Seconds presigned URLs live when pulls are redirected to the store; undefined streams pulls through the gateway. */
  redirectSeconds?: number;
  /** When content was last removed per workspace (fed by the access state's announcements). */
  epochs: ContentEpochs;
  /** Where manifest pulls are noted for last-pulled times (issue 24); without it, none are. */
  pulls?: PullBatcher;
  /** The pull-through cache (docs/pull-through.md); without it, no name is served from an upstream. */
  pullThrough?: { settings: PullThroughSettings; metrics: Registry; logger: Logger };
}

/** The OCI distribution API: routes each request to the handler of its resource; errors are thrown as RegistryError. */
export class RegistryApi {
  private readonly blobs: BlobRoutes;
  private readonly uploads: UploadRoutes;
  private readonly manifests: ManifestRoutes;
  private readonly listings: OciListings;
  private readonly pullThrough?: PullThrough;

  constructor(private readonly deps: RegistryApiDeps) {
    const { clients, store, guard, limits } = deps;
    const stats = new BlobStats(clients.metadata, deps.epochs);
    const packages = new PackageCheck(clients.metadata);
    this.blobs = new BlobRoutes({ guard, metadata: clients.metadata, store, stats, redirectSeconds: deps.redirectSeconds });
    this.uploads = new UploadRoutes({
      guard,
      uploads: clients.uploads,
      metadata: clients.metadata,
      store,
      packages,
      stats,
      hashes: new RunningHashes(limits.uploadTimeLimitMs),
      idleTimeoutMs: limits.uploadIdleTimeoutMs,
    });
    this.manifests = new ManifestRoutes({ guard, metadata: clients.metadata, store, packages, stats, cache: new ManifestCache(deps.epochs), maxManifestSize: limits.maxManifestSize, pulls: deps.pulls });
    this.listings = new OciListings({ guard, metadata: clients.metadata });
    if (deps.pullThrough) {
      const { settings, metrics, logger } = deps.pullThrough;
      this.pullThrough = new PullThrough({ settings, guard, metadata: clients.metadata, uploads: clients.uploads, store, stats, blobs: this.blobs, manifests: this.manifests, metrics, logger });
    }
  }

  async handle(route: OciRoute, exchange: Exchange): Promise<void> {
    // Query parameters (n, last, mount, from, digest, tag, artifactType, scope, ...) are text like any other field.
    checkParams(exchange.url.searchParams);
    const method = exchange.req.method ?? 'GET';
    const { guard, clients } = this.deps;
    const mirrorPrefix = this.pullThrough?.mirrorHost(exchange.req.headers.host);
    if (mirrorPrefix !== undefined) return this.handleMirrorHost(route, exchange, method, mirrorPrefix);
    if (route.kind === 'base') {
      if (method !== 'GET' && method !== 'HEAD') throw unsupported(method);
      await guard.authenticate(exchange.req);
      return json(exchange, 200, {});
    }
    if (route.kind === 'token') return handleTokenRequest(exchange.req, exchange.res, exchange.url, clients.auth, exchange.requestId, guard.clientAddress(exchange.req));
    if (route.kind === 'catalog') {
      if (method !== 'GET') throw unsupported(method);
      return this.listings.catalog(exchange);
    }
    const name = parseRepositoryName(this.pullThrough && (method === 'GET' || method === 'HEAD') ? this.pullThrough.mirrored(route.name, exchange.url) : route.name).value;
    switch (route.kind) {
      case 'blob':
        if ((method === 'GET' || method === 'HEAD') && this.pullThrough && (await this.pullThrough.handle(exchange, 'blob', name, route.digest))) return;
        if (method === 'GET' || method === 'HEAD') return this.blobs.get(exchange, name, route.digest);
        if (method === 'DELETE') return this.blobs.delete(exchange, name, route.digest);
        throw unsupported(method);
      case 'uploads':
        if (method === 'POST') return this.uploads.start(exchange, name);
        throw unsupported(method);
      case 'upload':
        if (method === 'PATCH') return this.uploads.patch(exchange, name, route.uploadId);
        if (method === 'PUT') return this.uploads.put(exchange, name, route.uploadId);
        if (method === 'GET') return this.uploads.status(exchange, name, route.uploadId);
        if (method === 'DELETE') return this.uploads.cancel(exchange, name, route.uploadId);
        throw unsupported(method);
      case 'manifest':
        if ((method === 'GET' || method === 'HEAD') && this.pullThrough && (await this.pullThrough.handle(exchange, 'manifest', name, route.reference))) return;
        if (method === 'GET' || method === 'HEAD') return this.manifests.get(exchange, name, route.reference);
        if (method === 'PUT') return this.manifests.put(exchange, name, route.reference);
        if (method === 'DELETE') return this.manifests.delete(exchange, name, route.reference);
        throw unsupported(method);
      case 'referrers':
        if (method === 'GET') return this.listings.referrers(exchange, name, route.digest);
        throw unsupported(method);
      case 'tags':
        if (method === 'GET' || method === 'HEAD') return this.listings.tags(exchange, name);
        throw unsupported(method);
    }
  }
  /**
   * A mirror host (UPSTREAM_MIRROR_HOSTS, dockerd's registry-mirrors) serves
   * pulls of `<prefix>/<name>` only: the ping, the token endpoint (whose scopes
   * name the mirrored names) and GET/HEAD of manifests, blobs, tags and referrers.
   */
  private async handleMirrorHost(route: OciRoute, exchange: Exchange, method: string, prefix: string): Promise<void> {
    const { guard, clients } = this.deps;
    if (route.kind === 'token') {
      return handleTokenRequest(exchange.req, exchange.res, exchange.url, clients.auth, exchange.requestId, guard.clientAddress(exchange.req), (scopes) => mirrorScopes(prefix, scopes));
    }
    const pull = method === 'GET' || method === 'HEAD';
    if (!pull || route.kind === 'catalog' || route.kind === 'uploads' || route.kind === 'upload') {
      throw new RegistryError('UNSUPPORTED', `this host is a pull-only mirror of ${prefix}: ${method.slice(0, 20)} ${route.kind} is not served here`);
    }
    if (route.kind === 'base') {
      await guard.authenticate(exchange.req);
      return json(exchange, 200, {});
    }
    const name = parseRepositoryName(`${prefix}/${route.name}`).value;
    switch (route.kind) {
      case 'blob':
        if (await this.pullThrough!.handle(exchange, 'blob', name, route.digest)) return;
        return this.blobs.get(exchange, name, route.digest);
      case 'manifest':
        if (await this.pullThrough!.handle(exchange, 'manifest', name, route.reference)) return;
        return this.manifests.get(exchange, name, route.reference);
      case 'referrers':
        if (method === 'GET') return this.listings.referrers(exchange, name, route.digest);
        throw unsupported(method);
      case 'tags':
        return this.listings.tags(exchange, name);
    }
  }
}
