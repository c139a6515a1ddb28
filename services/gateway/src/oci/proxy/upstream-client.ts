import { Readable } from 'node:stream';
import { RegistryError } from '@ocireg/errors';
import { GuardedFetchError, guardedFetch, RefusedTarget, type TargetGuard } from '@ocireg/outbound';
import { RegistryAuth } from '../../remote-registry/registry-auth';

/** An upstream registry as metadata's ResolveUpstream gives it (the password opened). */
export interface UpstreamEndpoint {
  /** "<workspace>/<name>": for messages and metrics, never the URL's credentials (it has none). */
  label: string;
  url: string;
  username: string;
  password: string;
}

export interface UpstreamManifest {
  digest: string;
  mediaType: string;
  size: number;
  /** Absent for HEAD. */
  content?: Buffer;
}

export interface UpstreamBlob {
  /** The Content-Length the upstream announced, when it did. */
  size?: number;
  body: Readable;
}

/** Every manifest type a client might want: the cache stores what the upstream has, byte for byte. */
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Why the upstream did not answer with content: `unreachable` covers refused
 * connections, timeouts, 429 and 5xx (a cached copy is served instead);
 * `missing` is its 404; `refused` its 401/403 after our credentials.
 */
export class UpstreamFailure extends Error {
  constructor(
    readonly kind: 'unreachable' | 'missing' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The OCI distribution API of one upstream, as a client: manifests by tag or
 * digest (HEAD or GET) and blobs (GET, streamed). Authenticates the way the
 * upstream's challenge asks: Basic with the stored credentials, or a Bearer
 * token from its token endpoint (cached per repository until it expires).
 * Every request has a timeout until its headers arrive, and goes only where
 * the guard allows (the upstream's URL, its token realm and every redirect,
 * checked after DNS resolution: UPSTREAM_ALLOWED_CIDRS).
 */
export class UpstreamClient {
  private readonly auth: RegistryAuth;

  constructor(
    private readonly endpoint: UpstreamEndpoint,
    private readonly timeoutMs: number,
    private readonly guard: TargetGuard,
  ) {
    this.auth = new RegistryAuth(endpoint, (url, method, headers) => this.send(url, method, headers), (kind, message) => new UpstreamFailure(kind, message));
  }

  async manifest(repository: string, reference: string, method: 'GET' | 'HEAD'): Promise<UpstreamManifest> {
    const response = await this.request(repository, `manifests/${reference}`, method, { Accept: MANIFEST_ACCEPT });
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const digest = response.headers.get('docker-content-digest') ?? '';
    if (method === 'HEAD') {
      await response.body?.cancel();
      return { digest, mediaType, size: Number(response.headers.get('content-length') ?? 0) };
    }
    const content = Buffer.from(await response.arrayBuffer());
    if (content.length > MAX_MANIFEST_BYTES) throw new UpstreamFailure('unreachable', `${this.endpoint.label} answered a manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    return { digest, mediaType, size: content.length, content };
  }

  /** A blob's size, without its bytes (HEAD). */
  async blobSize(repository: string, digest: string): Promise<number | undefined> {
    const response = await this.request(repository, `blobs/${digest}`, 'HEAD', {});
    await response.body?.cancel();
    const length = response.headers.get('content-length');
    return length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
  }

  async blob(repository: string, digest: string): Promise<UpstreamBlob> {
    const response = await this.request(repository, `blobs/${digest}`, 'GET', {});
    const length = response.headers.get('content-length');
    if (!response.body) throw new UpstreamFailure('unreachable', `${this.endpoint.label} answered blob ${digest} without a body`);
    return { size: length !== null && /^\d+$/.test(length) ? Number(length) : undefined, body: Readable.fromWeb(response.body as never) };
  }

  /** One request; on a challenge, once more with the credentials it asks for. */
  private async request(repository: string, path: string, method: string, headers: Record<string, string>): Promise<Response> {
    const url = `${this.endpoint.url}/v2/${repository}/${path}`;
    const scope = `repository:${repository}:pull`;
    let authorization = this.auth.initial(scope);
    let response = await this.send(url, method, { ...headers, ...(authorization ? { Authorization: authorization } : {}) });
    if (response.status === 401) {
      await response.body?.cancel();
      authorization = await this.auth.answer(response.headers.get('www-authenticate') ?? '', scope);
      response = await this.send(url, method, { ...headers, Authorization: authorization });
    }
    if (response.ok) return response;
    await response.body?.cancel();
    const what = `${this.endpoint.label}: ${method} ${repository}/${path.split('/')[0]} answered ${response.status}`;
    if (response.status === 404) throw new UpstreamFailure('missing', what);
    if (response.status === 401 || response.status === 403) throw new UpstreamFailure('refused', `${what} (check the upstream's username and password)`);
    throw new UpstreamFailure('unreachable', what);
  }

  private async send(url: string, method: string, headers: Record<string, string>): Promise<Response> {
    try {
      return await guardedFetch(this.guard, url, { method, headers, timeoutMs: this.timeoutMs, maxRedirects: 5 });
    } catch (err) {
      if (err instanceof RefusedTarget) throw new UpstreamFailure('unreachable', `${this.endpoint.label} may not be reached: ${err.message}`);
      const reason = err instanceof GuardedFetchError ? (err.code === 'TIMEOUT' ? `no answer within ${this.timeoutMs} ms` : err.code) : 'unreachable';
      throw new UpstreamFailure('unreachable', `${this.endpoint.label} could not be reached (${reason})`);
    }
  }
}

/**
 * What a client is told when the cache lacks `what` and the upstream did not
 * give it: unknown when the upstream has no such thing, else 503 naming why.
 */
export function notFetched(err: unknown, what: string, unknown: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN'): unknown {
  if (!(err instanceof UpstreamFailure)) return err;
  if (err.kind === 'missing') return new RegistryError(unknown, `${what} is not cached and its upstream does not have it (${err.message})`);
  return new RegistryError('UNAVAILABLE', `${what} is not cached and ${err.message}`);
}
