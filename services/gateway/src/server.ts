import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { REQUEST_ID_KEY, requestIdFrom, type Logger } from '@ocireg/logger';
import { RegistryError } from '@ocireg/errors';
import { Counter, Histogram, type Registry } from '@ocireg/metrics';
import { writeError } from './http-io';
import { matchOciRoute } from './oci/routes';
import type { RegistryApi } from './oci/registry-api';

/** Liveness: the process serves HTTP (the registry API itself answers 401 without credentials). */
export const HEALTH_PATH = '/healthz';
/** Readiness: 503 until the gateway has reached what every request needs (see main's untilReady), then 200. */
export const READY_PATH = '/readyz';

export interface GatewayServerDeps {
  api: RegistryApi;
  /** Everything outside /v2 (the web UI and its JSON API /api/v1): an express app. */
  web: (req: IncomingMessage, res: ServerResponse) => void;
  logger: Logger;
  metrics: Registry;
  /** Whether READY_PATH answers 200. */
  ready: () => boolean;
}

/**
 * Plain node:http: blob bodies stream straight into storage without a body
 * parser, and Node's request timeout is off because uploads have their own
 * time limit. GET /healthz and /readyz answer without credentials (the probes).
 */
export function createGatewayServer({ api, web, logger, metrics, ready }: GatewayServerDeps): Server {
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers: [metrics] });
  const duration = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request duration by route', labelNames: ['method', 'route'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300], registers: [metrics] });

  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 }, (req, res) => {
    const requestId = requestIdFrom(req.headers[REQUEST_ID_KEY]);
    const requestLogger = logger.child({ requestId });
    const url = requestUrl(req.url);
    const route = matchOciRoute(url.pathname);
    const registryPath = url.pathname === '/v2' || url.pathname.startsWith('/v2/');
    const health = url.pathname === HEALTH_PATH || url.pathname === READY_PATH;
    const routeLabel = route?.kind ?? (registryPath ? 'none' : health ? 'health' : url.pathname.startsWith('/api/') ? 'web-api' : 'web-ui');
    const stopTimer = duration.startTimer({ method: req.method, route: routeLabel });

    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    res.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    res.on('finish', () => {
      stopTimer();
      requests.inc({ method: req.method, route: routeLabel, status: res.statusCode });
      // The access log: one line per request (probes only at debug), never its credentials or query.
      requestLogger[health ? 'debug' : 'info']({ method: req.method, route: routeLabel, path: url.pathname.slice(0, 300), status: res.statusCode, bytes: Number(res.getHeader('content-length') ?? 0) || undefined, ms: Math.round(performance.now() - started) }, 'request');
    });

    if (health) {
      const ok = url.pathname === HEALTH_PATH || ready();
      const body = ok ? 'ok\n' : 'not ready\n';
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    // Browsers' side (UI and /api/v1) goes to express; /v2 stays here, streaming.
    if (!registryPath) {
      web(req, res);
      return;
    }
    // Handlers are async, so whatever they throw (synchronously too) becomes an answer, never a crash.
    const work = (async () => {
      if (route) return api.handle(route, { req, res, url, requestId, logger: requestLogger });
      throw new RegistryError(url.pathname.startsWith('/v2/') ? 'NAME_UNKNOWN' : 'NOT_FOUND', `no such endpoint: ${req.method} ${url.pathname.slice(0, 200)}`);
    })();
    work.catch((err: unknown) => {
      // A body the handler did not read would otherwise stall a keep-alive connection: say the
      // connection closes (so the client opens a new one for its next request), then close it.
      const unreadBody = !req.complete;
      if (unreadBody && !res.headersSent) res.setHeader('Connection', 'close');
      writeError(req, res, err, requestLogger);
      if (unreadBody) res.once('finish', () => req.socket.destroy());
    });
  });
  return server;
}

/** The request's URL; one that does not parse (e.g. "//?x") reads as a path that matches no route. */
function requestUrl(raw: string | undefined): URL {
  try {
    return new URL(`http://registry.invalid${raw?.startsWith('/') ? raw : `/${raw ?? ''}`}`);
  } catch {
    return new URL('http://registry.invalid/invalid-url');
  }
}
