import type { Readable } from 'node:stream';
import { GuardedFetchError, guardedFetch, RefusedTarget, type TargetGuard } from '@ocireg/outbound';
import { RegistryAuth, type RegistryCredentials } from '../remote-registry/registry-auth';

/** A replication target as a claim gives it (the password opened: never logged). */
export interface TargetEndpoint extends RegistryCredentials {
  url: string;
}

/** Why a push to a target failed: a message fit for the job's status (no credentials, bounded). */
export class ReplicationFailure extends Error {}

/**
 * The OCI distribution API of one replication target, as a pushing client:
 * HEAD blobs and manifests, upload a blob (POST, then one streamed PUT with
 * its Content-Length: monolithic, never buffered), PUT a manifest byte for
 * byte. Authenticates as the target's challenge asks (registry-auth.ts, a
 * pull,push scope). Every request goes only where the guard allows
 * (REPLICATION_ALLOWED_CIDRS) and has a timeout until its answer.
 */
export class TargetClient {
  private readonly auth: RegistryAuth;

  constructor(
    private readonly endpoint: TargetEndpoint,
    private readonly timeoutMs: number,
    private readonly guard: TargetGuard,
  ) {
    this.auth = new RegistryAuth(endpoint, (url, method, headers) => this.send(url, method, headers), (_kind, message) => new ReplicationFailure(message));
  }

  /** Whether the target has the blob in `repository` already. */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.request(repository, 'HEAD', `${this.base(repository)}/blobs/${digest}`, {});
    if (response.status === 404) return false;
    this.expect(response, [200], `HEAD blob ${digest}`);
    return true;
  }

  /** The digest the target has under `reference`, or undefined. */
  async manifestDigest(repository: string, reference: string, mediaType: string): Promise<string | undefined> {
    const response = await this.request(repository, 'HEAD', `${this.base(repository)}/manifests/${reference}`, { Accept: mediaType });
    if (response.status === 404) return undefined;
    this.expect(response, [200], `HEAD manifest ${reference}`);
    return response.headers.get('docker-content-digest') ?? undefined;
  }

  /** Uploads a blob: POST opens the upload, one PUT streams `size` bytes from `open()` and closes it with the digest. */
  async uploadBlob(repository: string, digest: string, size: number, open: () => Promise<Readable>): Promise<void> {
    const started = await this.request(repository, 'POST', `${this.base(repository)}/blobs/uploads/`, { 'Content-Length': '0' });
    this.expect(started, [202], `POST upload of ${digest}`);
    const location = started.headers.get('location');
    if (!location) throw new ReplicationFailure(`${this.endpoint.label}: the upload of ${digest} has no Location`);
    const url = new URL(location, `${this.endpoint.url}/`);
    url.searchParams.set('digest', digest);
    const put = await this.request(repository, 'PUT', url.toString(), { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) }, open);
    this.expect(put, [201], `PUT blob ${digest}`);
  }

  async putManifest(repository: string, reference: string, mediaType: string, content: Buffer): Promise<string | undefined> {
    const response = await this.request(repository, 'PUT', `${this.base(repository)}/manifests/${reference}`, { 'Content-Type': mediaType, 'Content-Length': String(content.length) }, content);
    this.expect(response, [201], `PUT manifest ${reference}`);
    return response.headers.get('docker-content-digest') ?? undefined;
  }

  private base(repository: string): string {
    return `${this.endpoint.url}/v2/${repository}`;
  }

  /**
   * One request; on a challenge, once more with the credentials it asks for
   * (a streamed body is opened again). Credentials go only to the target's
   * own origin: an upload Location elsewhere gets none.
   */
  private async request(repository: string, method: string, url: string, headers: Record<string, string>, body?: Buffer | (() => Promise<Readable>)): Promise<Response> {
    if (new URL(url).origin !== new URL(this.endpoint.url).origin) return this.send(url, method, headers, body);
    const scope = `repository:${repository}:pull,push`;
    const authorization = this.auth.initial(scope);
    const first = await this.send(url, method, { ...headers, ...(authorization ? { Authorization: authorization } : {}) }, body);
    if (first.status !== 401) return first;
    await first.body?.cancel();
    const answered = await this.auth.answer(first.headers.get('www-authenticate') ?? '', scope);
    return this.send(url, method, { ...headers, Authorization: answered }, body);
  }

  private expect(response: Response, statuses: number[], what: string): void {
    if (statuses.includes(response.status)) {
      void response.body?.cancel();
      return;
    }
    void response.body?.cancel();
    const hint = response.status === 401 || response.status === 403 ? " (check the target's username and password, and that it may push there)" : '';
    throw new ReplicationFailure(`${this.endpoint.label}: ${what} answered ${response.status}${hint}`);
  }

  private async send(url: string, method: string, headers: Record<string, string>, body?: Buffer | (() => Promise<Readable>)): Promise<Response> {
    try {
      const payload = typeof body === 'function' ? await body() : body;
      return await guardedFetch(this.guard, url, { method, headers, timeoutMs: this.timeoutMs, maxRedirects: 5, body: payload });
    } catch (err) {
      if (err instanceof RefusedTarget) throw new ReplicationFailure(`${this.endpoint.label} may not be reached: ${err.message}`);
      if (err instanceof GuardedFetchError) throw new ReplicationFailure(`${this.endpoint.label} could not be reached (${err.code === 'TIMEOUT' ? `no answer within ${this.timeoutMs} ms` : err.code})`);
      throw err;
    }
  }
}
