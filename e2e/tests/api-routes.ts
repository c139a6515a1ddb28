// The JSON API's routes, read from the gateway's own express app: a route
// added to any router under /api/v1 shows up here (and so in the fuzzers)
// without a list to keep in step. Building the app needs no running service:
// its dependencies are only called by requests, and none is made here.
import { createLogger } from '@ocireg/logger';
import { createWebApp, type WebAppDeps } from '../../services/gateway/src/web/web-app';

export const API_PREFIX = '/api/v1';

export interface ApiRoute {
  method: string;
  /** As the router declares it: "/tokens/:tokenId", or a RegExp with named groups. */
  path: string | RegExp;
  /** Its parameters, by name. */
  params: string[];
}

/** What express keeps of a router: layers that are routes, or routers mounted at a path. */
interface Layer {
  route?: { path: string | RegExp; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
}

export function apiRoutes(): ApiRoute[] {
  const inert = new Proxy({}, { get: () => inert });
  const app = createWebApp({ clients: inert, callers: inert, guard: inert, store: inert, logger: createLogger({ service: 'api-routes', level: 'silent' }), challenge: () => '', trustedProxies: [] } as unknown as WebAppDeps);
  const mount = (app as unknown as { router: { stack: Layer[] } }).router.stack.find((layer) => layer.rawPath === API_PREFIX);
  if (!mount?.handle?.stack) throw new Error(`the web app has no router at ${API_PREFIX}`);
  const routes: ApiRoute[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) routes.push({ method: method.toUpperCase(), path: layer.route.path, params: paramsOf(layer.route.path) });
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk(mount.handle.stack);
  return routes;
}

function paramsOf(path: string | RegExp): string[] {
  if (typeof path === 'string') return [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const names = [...path.source.matchAll(/\(\?<(\w+)>/g)].map((m) => m[1]!);
  if (/\((?!\?)/.test(path.source)) throw new Error(`route ${path.source} has unnamed groups: name them, (?<name>...), so refusals and fuzzers can name them too`);
  return names;
}

/** A request path for the route, each parameter replaced by its value (encoded). */
export function pathOf(route: ApiRoute, values: Record<string, string>, encode: (value: string) => string = encodeURIComponent): string {
  const valueOf = (name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for the route parameter "${name}" of ${route.method} ${String(route.path)}: give the fuzzers a sample`);
    return value;
  };
  if (typeof route.path === 'string') return `${API_PREFIX}${route.path.replace(/:(\w+)/g, (_, name: string) => encode(valueOf(name)))}`;
  const filled = fillGroups(route.path.source, (name) => encode(valueOf(name)))
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/\\\/\?$/, '')
    .replace(/\\\//g, '/');
  return `${API_PREFIX}${filled}`;
}

/** Whether the route's pattern takes `path` (a RegExp route's, that is: string routes are filled in by name). */
export function routeTakes(route: ApiRoute, path: string): boolean {
  return typeof route.path === 'string' || route.path.test(path.slice(API_PREFIX.length));
}

/** Replaces each named group (?<name>...) of a RegExp source, nested parentheses and all, by fill(name). */
function fillGroups(source: string, fill: (name: string) => string): string {
  let out = '';
  for (let i = 0; i < source.length; ) {
    const named = /^\(\?<(\w+)>/.exec(source.slice(i));
    if (!named) {
      const step = source[i] === '\\' ? 2 : 1; // an escape and what it escapes
      out += source.slice(i, i + step);
      i += step;
      continue;
    }
    let depth = 0;
    let j = i;
    for (; j < source.length; j++) {
      if (source[j] === '\\') j++;
      else if (source[j] === '(') depth++;
      else if (source[j] === ')' && --depth === 0) break;
    }
    out += fill(named[1]!);
    i = j + 1;
  }
  return out;
}
