import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A registry per service (no global default), with process metrics and the service label. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The gRPC server's instruments; one set per registry, whoever asks first creates them. */
export function grpcServerMetrics(registry: Registry): { handled: Counter<'method' | 'code'>; duration: Histogram<'method'> } {
  const existing = registry.getSingleMetric('grpc_server_handled_total') as Counter<'method' | 'code'> | undefined;
  if (existing) return { handled: existing, duration: registry.getSingleMetric('grpc_server_handling_seconds') as Histogram<'method'> };
  return {
    handled: new Counter({ name: 'grpc_server_handled_total', help: 'gRPC calls completed, by method and status code', labelNames: ['method', 'code'], registers: [registry] }),
    duration: new Histogram({ name: 'grpc_server_handling_seconds', help: 'gRPC call duration', labelNames: ['method'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300], registers: [registry] }),
  };
}

/**
 * One sample shared by the gauges of a scrape: calls within `maxAgeMs` of a
 * load reuse its promise, so two gauges over one query (or one Kafka admin
 * call) cost one round trip per scrape.
 */
export function sharedSample<T>(load: () => Promise<T>, maxAgeMs = 1000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > maxAgeMs) last = { at: Date.now(), value: load() };
    return last.value;
  };
}

/** Serves Prometheus text on GET /metrics. */
export async function startMetricsServer(registry: Registry, port: number, host = '0.0.0.0'): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
