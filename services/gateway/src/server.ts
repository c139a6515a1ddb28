import { createServer, type Server } from 'node:http';
import { REQUEST_ID_KEY, requestIdFrom, type Logger } from '@ocireg/logger';
import { RegistryError } from '@ocireg/errors';
import { Counter, Histogram, type Registry } from '@ocireg/metrics';
import { writeError } from './http-io';
import { matchListingRoute, type ListingApi } from './listing-api';
import { matchOciRoute } from './oci-routes';
import type { RegistryApi } from './registry-api';

export interface GatewayServerDeps {
  api: RegistryApi;
  listings: ListingApi;
  logger: Logger;
  metrics: Registry;
}

/**
 * Plain node:http: blob bodies stream straight into gRPC without a body parser,
 * and Node's request timeout is off because uploads have their own time limit.
 */
export function createGatewayServer({ api, listings, logger, metrics }: GatewayServerDeps): Server {
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers: [metrics] });
  const duration = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request duration by route', labelNames: ['method', 'route'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300], registers: [metrics] });

  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 }, (req, res) => {
    const requestId = requestIdFrom(req.headers[REQUEST_ID_KEY]);
    const requestLogger = logger.child({ requestId });
    const url = new URL(req.url ?? '/', 'http://registry.invalid');
    const route = matchOciRoute(url.pathname);
    const listingRoute = route ? undefined : matchListingRoute(url.pathname);
    const routeLabel = route?.kind ?? (listingRoute ? `api-${listingRoute.kind}` : 'none');
    const stopTimer = duration.startTimer({ method: req.method, route: routeLabel });

    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      stopTimer();
      requests.inc({ method: req.method, route: routeLabel, status: res.statusCode });
      requestLogger.debug({ method: req.method, path: url.pathname, status: res.statusCode }, 'request');
    });

    const work = route
      ? api.handle(route, { req, res, url, requestId, logger: requestLogger })
      : listingRoute
        ? listings.handle(listingRoute, { req, res, url, requestId })
        : Promise.reject(new RegistryError(url.pathname.startsWith('/v2/') ? 'NAME_UNKNOWN' : 'UNSUPPORTED', `no such endpoint: ${req.method} ${url.pathname}`));
    work.catch((err: unknown) => {
      writeError(req, res, err, requestLogger);
      // A body the handler did not read would otherwise stall a keep-alive connection.
      if (!req.complete) res.once('finish', () => req.socket.destroy());
    });
  });
  return server;
}
