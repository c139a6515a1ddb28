import type { Logger } from '@ocireg/logger';
import type { Registry } from '@ocireg/metrics';
import { TargetGuard } from '@ocireg/outbound';
import type { blobupload, metadata } from '@ocireg/proto';
import type { BlobStore } from '@ocireg/storage';
import type { AccessGuard } from '../../access-guard';
import type { BlobStats } from '../blob-stats';
import type { BlobRoutes } from '../blobs';
import type { Exchange } from '../exchange';
import type { ManifestRoutes } from '../manifests';
import { BlobFills } from './blob-fills';
import { CacheWriter } from './cache-writer';
import { mirrorHostPrefix } from './mirror-hosts';
import { ProxyBlobs } from './proxy-blobs';
import { ProxyManifests } from './proxy-manifests';
import { ProxyMetrics } from './proxy-metrics';
import { TagFreshness } from './tag-freshness';
import { UpstreamDirectory } from './upstream-directory';

export interface PullThroughSettings {
  /** An upstream that has not answered (its headers) within this is unreachable. */
  upstreamTimeoutMs: number;
  /** Where fills spool the blobs they stream to several clients. */
  spoolDir: string;
  /** Hosts (host[:port]) upstreams may point at; empty: any. */
  allowedHosts: string[];
  /** Private, loopback and link-local ranges upstreams may reach (UPSTREAM_ALLOWED_CIDRS); public addresses always may. */
  allowedCidrs: string[];
  /** The transparent mirror: a registry named by `?ns=` (docker.io) -> the "<workspace>/<upstream>" serving it. */
  mirrors: Record<string, string>;
  /** The transparent mirror for dockerd: a host name of its own (mirror.example.com[:port]) -> the "<workspace>/<upstream>" it serves. */
  mirrorHosts: Record<string, string>;
}

export interface PullThroughDeps {
  settings: PullThroughSettings;
  guard: AccessGuard;
  metadata: metadata.RegistryMetadataServiceClient;
  uploads: blobupload.BlobUploadServiceClient;
  store: BlobStore;
  stats: BlobStats;
  blobs: BlobRoutes;
  manifests: ManifestRoutes;
  metrics: Registry;
  logger: Logger;
}

/**
 * The pull-through cache (docs/pull-through.md): GET and HEAD of manifests
 * and blobs of names `<workspace>/<upstream>/...` that an upstream of the
 * workspace serves. `handle` answers false for every other name, after a map
 * lookup, so the ordinary routes keep their speed.
 */
export class PullThrough {
  private readonly directory: UpstreamDirectory;
  private readonly manifests: ProxyManifests;
  private readonly blobs: ProxyBlobs;
  private readonly mirrors: Record<string, string>;
  private readonly mirrorHosts: Record<string, string>;

  constructor(deps: PullThroughDeps) {
    const metrics = new ProxyMetrics(deps.metrics);
    this.mirrors = deps.settings.mirrors;
    this.mirrorHosts = deps.settings.mirrorHosts;
    this.directory = new UpstreamDirectory(deps.metadata, {
      timeoutMs: deps.settings.upstreamTimeoutMs,
      allowedHosts: deps.settings.allowedHosts,
      guard: new TargetGuard(deps.settings.allowedCidrs, 'UPSTREAM_ALLOWED_CIDRS'),
    });
    this.manifests = new ProxyManifests({ guard: deps.guard, metadata: deps.metadata, manifests: deps.manifests, freshness: new TagFreshness(), metrics, logger: deps.logger });
    const writer = new CacheWriter({ uploads: deps.uploads, metadata: deps.metadata, store: deps.store });
    this.blobs = new ProxyBlobs({ guard: deps.guard, stats: deps.stats, blobs: deps.blobs, fills: new BlobFills({ spoolDir: deps.settings.spoolDir, logger: deps.logger }), writer, metrics });
  }

  /** The "<workspace>/<upstream>" a mirror host (UPSTREAM_MIRROR_HOSTS) serves when the Host header names one. */
  mirrorHost(host: string | undefined): string | undefined {
    return mirrorHostPrefix(this.mirrorHosts, host);
  }

  /**
   * The name a pull means: a mirror pull (`?ns=<registry>` that UPSTREAM_MIRRORS
   * maps, as containerd sends through hosts.toml) is the upstream's name
   * `<workspace>/<upstream>/<name>`; any other name is itself.
   */
  mirrored(name: string, url: URL): string {
    const ns = url.searchParams.get('ns');
    const prefix = ns ? this.mirrors[ns.toLowerCase()] : undefined;
    return prefix ? `${prefix}/${name}` : name;
  }

  /** Serves the request when an upstream serves the name; false otherwise. */
  async handle(exchange: Exchange, kind: 'manifest' | 'blob', name: string, reference: string): Promise<boolean> {
    const target = await this.directory.target(name, exchange.requestId);
    if (!target) return false;
    if (kind === 'manifest') await this.manifests.get(exchange, name, reference, target);
    else await this.blobs.get(exchange, name, reference, target);
    return true;
  }
}
