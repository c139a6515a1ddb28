import { Counter, Histogram, type Registry } from '@ocireg/metrics';
import { UpstreamFailure } from './upstream-client';

/**
 * The pull-through cache's metrics, per upstream ("<workspace>/<upstream>"):
 * hits and misses by kind, stale answers served while the upstream failed,
 * the upstream's latency (until its headers) and errors, bytes fetched, and
 * bytes served from the cache instead of the upstream (bytes saved).
 */
export class ProxyMetrics {
  private readonly lookups: Counter<'upstream' | 'kind' | 'result'>;
  private readonly latency: Histogram<'upstream'>;
  private readonly errors: Counter<'upstream' | 'kind'>;
  private readonly fetched: Counter<'upstream'>;
  private readonly saved: Counter<'upstream'>;

  constructor(registry: Registry) {
    this.lookups = new Counter({ name: 'proxy_cache_requests_total', help: 'Pull-through requests by upstream, kind (manifest, blob) and result (hit, miss, stale)', labelNames: ['upstream', 'kind', 'result'], registers: [registry] });
    this.latency = new Histogram({ name: 'proxy_upstream_latency_seconds', help: 'Time until an upstream answered (headers)', labelNames: ['upstream'], buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] });
    this.errors = new Counter({ name: 'proxy_upstream_errors_total', help: 'Upstream requests that failed, by kind (unreachable: refused, timeout, 429, 5xx; missing: 404; refused: 401/403)', labelNames: ['upstream', 'kind'], registers: [registry] });
    this.fetched = new Counter({ name: 'proxy_upstream_bytes_total', help: 'Blob bytes fetched from upstreams', labelNames: ['upstream'], registers: [registry] });
    this.saved = new Counter({ name: 'proxy_cache_bytes_saved_total', help: 'Blob bytes served from the cache instead of the upstream', labelNames: ['upstream'], registers: [registry] });
  }

  hit(upstream: string, kind: 'manifest' | 'blob', bytes = 0): void {
    this.lookups.inc({ upstream, kind, result: 'hit' });
    if (bytes > 0) this.saved.inc({ upstream }, bytes);
  }

  miss(upstream: string, kind: 'manifest' | 'blob'): void {
    this.lookups.inc({ upstream, kind, result: 'miss' });
  }

  /** A cached tag served because the upstream failed. */
  stale(upstream: string): void {
    this.lookups.inc({ upstream, kind: 'manifest', result: 'stale' });
  }

  /** Times one upstream request and counts its failure. */
  async timed<T>(upstream: string, request: () => Promise<T>): Promise<T> {
    const end = this.latency.startTimer({ upstream });
    try {
      return await request();
    } catch (err) {
      if (err instanceof UpstreamFailure) this.errors.inc({ upstream, kind: err.kind });
      throw err;
    } finally {
      end();
    }
  }

  /** Counts the bytes of a fill as they pass. */
  async *counted(upstream: string, chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      this.fetched.inc({ upstream }, chunk.length);
      yield chunk;
    }
  }
}
