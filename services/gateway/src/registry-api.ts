import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { buffer } from 'node:stream/consumers';
import { RegistryError } from '@ocireg/errors';
import { clientStreamCall, unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { INDEX_MEDIA_TYPES, isDigest, MEDIA_TYPES, parseDigest, parseManifest, parseRepositoryName, parseTag } from '@ocireg/oci';
import type { BlobStore } from '@ocireg/storage';
import type { AccessGuard } from './access-guard';
import type { ServiceClients } from './clients';
import { hasBody, readSmallBody, streamBodyToUpload } from './http-io';
import { handleTokenRequest } from './token-endpoint';
import type { OciRoute } from './oci-routes';

export interface RegistryApiDeps {
  clients: ServiceClients;
  store: BlobStore;
  guard: AccessGuard;
  limits: { uploadTimeLimitMs: number; uploadIdleTimeoutMs: number; maxManifestSize: number };
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  requestId: string;
  logger: Logger;
}

const UNARY_DEADLINE_MS = 30_000;

const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/** How long a confirmed package is trusted before asking metadata again. */
const PACKAGE_CACHE_MS = 10_000;

/** The OCI distribution API: each method handles one route; errors are thrown as RegistryError. */
export class RegistryApi {
  private readonly knownPackages = new Map<string, number>();

  constructor(private readonly deps: RegistryApiDeps) {}

  /**
   * Pushing needs the package behind the name, or the right to create it on
   * push (EnsurePackage only checks: the push's first write creates it).
   */
  private async requirePackage(name: string, pusher: string, requestId: string): Promise<void> {
    const confirmedAt = this.knownPackages.get(name);
    if (confirmedAt !== undefined && Date.now() - confirmedAt < PACKAGE_CACHE_MS) return;
    const { metadata } = this.deps.clients;
    await unaryCall(metadata.ensurePackage.bind(metadata), { repository: name, userId: pusher }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    if (this.knownPackages.size > 10_000) this.knownPackages.clear();
    this.knownPackages.set(name, Date.now());
  }

  async handle(route: OciRoute, exchange: Exchange): Promise<void> {
    const method = exchange.req.method ?? 'GET';
    if (route.kind === 'base') {
      if (method !== 'GET' && method !== 'HEAD') throw unsupported(method);
      await this.deps.guard.authenticate(exchange.req);
      return json(exchange, 200, {});
    }
    if (route.kind === 'token') {
      return handleTokenRequest(exchange.req, exchange.res, exchange.url, this.deps.clients.auth, exchange.requestId, this.deps.guard.clientAddress(exchange.req));
    }
    if (route.kind === 'catalog') {
      if (method !== 'GET') throw unsupported(method);
      return this.catalog(exchange);
    }
    const name = parseRepositoryName(route.name).value;
    switch (route.kind) {
      case 'blob':
        if (method === 'GET' || method === 'HEAD') return this.getBlob(exchange, name, route.digest);
        if (method === 'DELETE') return this.deleteBlob(exchange, name, route.digest);
        throw unsupported(method);
      case 'uploads':
        if (method === 'POST') return this.startUpload(exchange, name);
        throw unsupported(method);
      case 'upload':
        if (method === 'PATCH') return this.appendUpload(exchange, name, route.uploadId);
        if (method === 'PUT') return this.completeUpload(exchange, name, route.uploadId);
        if (method === 'GET') return this.uploadStatus(exchange, name, route.uploadId);
        if (method === 'DELETE') return this.cancelUpload(exchange, name, route.uploadId);
        throw unsupported(method);
      case 'manifest':
        if (method === 'GET' || method === 'HEAD') return this.getManifest(exchange, name, route.reference);
        if (method === 'PUT') return this.putManifest(exchange, name, route.reference);
        if (method === 'DELETE') return this.deleteManifest(exchange, name, route.reference);
        throw unsupported(method);
      case 'referrers':
        if (method === 'GET') return this.listReferrers(exchange, name, route.digest);
        throw unsupported(method);
      case 'tags':
        if (method === 'GET' || method === 'HEAD') return this.listTags(exchange, name);
        throw unsupported(method);
    }
  }

  /** Tags in lexical order; `n` and `last` paginate, and a Link header points to the next page. */
  private async listTags(exchange: Exchange, name: string): Promise<void> {
    const { req, res, url, requestId } = exchange;
    await this.deps.guard.authorize(req, name, ['pull']);
    const { n, last } = pageParams(url, 'tags');
    if (n === 0) return json(exchange, 200, { name, tags: [] });
    const { metadata } = this.deps.clients;
    const page = await unaryCall(metadata.listTags.bind(metadata), { repository: name, limit: n ?? 0, after: last }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    const lastTag = page.tags[page.tags.length - 1];
    if (page.hasMore && lastTag) res.setHeader('Link', nextLink(`/v2/${name}/tags/list`, n ?? page.tags.length, lastTag));
    return json(exchange, 200, { name, tags: page.tags });
  }

  private async getBlob({ req, res, requestId }: Exchange, name: string, digest: string): Promise<void> {
    parseDigest(digest);
    await this.deps.guard.authorize(req, name, ['pull']);
    const { metadata } = this.deps.clients;
    const { blob } = await unaryCall(metadata.statBlob.bind(metadata), { repository: name, digest }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    if (!blob) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest });

    const range = parseRange(req.headers.range, blob.size);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest, 'Accept-Ranges': 'bytes', ETag: `"${digest}"` };
    if (range) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${blob.size}`;
      headers['Content-Length'] = range.end - range.start + 1;
    } else {
      headers['Content-Length'] = blob.size;
    }
    if (req.method === 'HEAD' || blob.size === 0) {
      res.writeHead(range ? 206 : 200, headers).end();
      return;
    }
    const body = await this.deps.store.read(blob.storageKey, range ? { offset: range.start, length: range.end - range.start + 1 } : undefined);
    res.writeHead(range ? 206 : 200, headers);
    await pipeline(body, res);
  }

  private async startUpload(exchange: Exchange, name: string): Promise<void> {
    const { req, res, url, requestId } = exchange;
    const mount = url.searchParams.get('mount');
    const from = url.searchParams.get('from');
    // A mount's challenge also asks for pull on its source, so a client that follows it can mount (as Distribution does).
    const mountSource = mount !== null && from && from !== name && isRepositoryName(from) ? [`repository:${from}:pull`] : [];
    const owner = await this.deps.guard.authorize(req, name, ['push'], mountSource);
    await this.requirePackage(name, owner, requestId);
    if (mount !== null && (await this.tryMount(exchange, name, mount, from, owner))) return;
    const digest = url.searchParams.get('digest');
    if (digest !== null) parseDigest(digest);
    const { uploads } = this.deps.clients;
    const { uploadId } = await unaryCall(uploads.startUpload.bind(uploads), { repository: name, owner }, { requestId, deadlineMs: UNARY_DEADLINE_MS });

    if (digest !== null) {
      // Monolithic upload: POST ?digest= with the whole blob as the body.
      if (hasBody(req)) await this.streamToUpload(exchange, name, uploadId, owner, {});
      return this.finishBlob(exchange, name, uploadId, owner, digest);
    }
    res.writeHead(202, {
      Location: uploadLocation(name, uploadId),
      'Docker-Upload-UUID': uploadId,
      Range: '0-0',
      'Content-Length': 0,
    });
    res.end();
  }

  /**
   * Cross-repository mount: links the blob when the caller may pull it from
   * `from`. Anything else (no `from`, unknown blob, no access) falls back to a
   * regular upload session, as the spec allows.
   */
  private async tryMount({ req, res, requestId }: Exchange, name: string, mount: string, from: string | null, pusher: string): Promise<boolean> {
    parseDigest(mount);
    if (!from || from === name) return false;
    try {
      parseRepositoryName(from);
      await this.deps.guard.authorize(req, from, ['pull']);
      const { metadata } = this.deps.clients;
      await unaryCall(metadata.mountBlob.bind(metadata), { fromRepository: from, toRepository: name, digest: mount, userId: pusher }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    } catch (err) {
      if (err instanceof RegistryError && err.httpStatus < 500) return false;
      throw err;
    }
    res.writeHead(201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount, 'Content-Length': 0 });
    res.end();
    return true;
  }

  private async deleteBlob({ req, res, requestId }: Exchange, name: string, digest: string): Promise<void> {
    parseDigest(digest);
    await this.deps.guard.authorize(req, name, ['delete-manifest']);
    const { metadata } = this.deps.clients;
    await unaryCall(metadata.unlinkBlob.bind(metadata), { repository: name, digest }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    res.writeHead(202, { 'Content-Length': 0 }).end();
  }

  private async deleteManifest({ req, res, requestId }: Exchange, name: string, reference: string): Promise<void> {
    checkReference(reference);
    // Deleting a tag takes Write; deleting the image itself takes Admin.
    const actor = await this.deps.guard.authorize(req, name, [isDigest(reference) ? 'delete-manifest' : 'delete']);
    const { metadata } = this.deps.clients;
    if (isDigest(reference)) {
      await unaryCall(metadata.deleteManifest.bind(metadata), { repository: name, digest: reference }, { requestId, actor, deadlineMs: UNARY_DEADLINE_MS });
    } else {
      await unaryCall(metadata.deleteTag.bind(metadata), { repository: name, tag: reference }, { requestId, actor, deadlineMs: UNARY_DEADLINE_MS });
    }
    res.writeHead(202, { 'Content-Length': 0 }).end();
  }

  /**
   * The platform ("os/arch[/variant]") and created time an image's config
   * names, for listings. Best effort: only image configs up to 1 MiB, and any
   * problem means "".
   */
  private async configFacts(name: string, config: { digest: string; mediaType: string; size: number } | undefined, requestId: string): Promise<{ platform: string; created: string }> {
    const none = { platform: '', created: '' };
    if (!config || !IMAGE_CONFIG_TYPES.has(config.mediaType) || config.size > 1024 * 1024) return none;
    try {
      const { metadata } = this.deps.clients;
      const { blob } = await unaryCall(metadata.statBlob.bind(metadata), { repository: name, digest: config.digest }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
      if (!blob || blob.size > 1024 * 1024) return none;
      const document = JSON.parse((await buffer(await this.deps.store.read(blob.storageKey))).toString('utf8')) as { os?: unknown; architecture?: unknown; variant?: unknown; created?: unknown };
      const parts = [document.os, document.architecture, document.variant].filter((part): part is string => typeof part === 'string' && /^[A-Za-z0-9._-]{1,40}$/.test(part));
      return {
        platform: typeof document.os === 'string' && typeof document.architecture === 'string' ? parts.join('/') : '',
        created: typeof document.created === 'string' && document.created.length <= 64 ? document.created : '',
      };
    } catch {
      return none;
    }
  }

  /** The referrers API: an image index of the manifests whose subject is `digest`. */
  private async listReferrers(exchange: Exchange, name: string, digest: string): Promise<void> {
    const { req, res, url, requestId } = exchange;
    parseDigest(digest);
    await this.deps.guard.authorize(req, name, ['pull']);
    const artifactType = url.searchParams.get('artifactType') ?? '';
    const { metadata } = this.deps.clients;
    const { referrers } = await unaryCall(metadata.listReferrers.bind(metadata), { repository: name, digest, artifactType }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    const manifests = referrers.map((r) => ({
      mediaType: r.mediaType,
      digest: r.digest,
      size: r.size,
      ...(r.artifactType ? { artifactType: r.artifactType } : {}),
      ...(r.annotationsJson ? { annotations: JSON.parse(r.annotationsJson) } : {}),
    }));
    if (artifactType) res.setHeader('OCI-Filters-Applied', 'artifactType');
    const payload = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests });
    res.writeHead(200, { 'Content-Type': MEDIA_TYPES.ociIndex, 'Content-Length': Buffer.byteLength(payload) });
    res.end(payload);
  }

  /** /v2/_catalog: repositories the caller may see, paginated like the tags list. */
  private async catalog(exchange: Exchange): Promise<void> {
    const { req, res, url, requestId } = exchange;
    const viewer = await this.deps.guard.viewer(req, 'registry:catalog:*');
    const { n, last } = pageParams(url, 'catalog');
    if (n === 0) return json(exchange, 200, { repositories: [] });
    const { metadata } = this.deps.clients;
    // Only repositories whose packages the viewer has a role on (or that are public).
    const page = await unaryCall(metadata.listRepositories.bind(metadata), { limit: n ?? 0, after: last, viewerUserId: viewer }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    const lastName = page.repositories[page.repositories.length - 1];
    if (page.hasMore && lastName) res.setHeader('Link', nextLink('/v2/_catalog', n ?? page.repositories.length, lastName));
    return json(exchange, 200, { repositories: page.repositories });
  }

  private async appendUpload(exchange: Exchange, name: string, uploadId: string): Promise<void> {
    const owner = await this.deps.guard.authorize(exchange.req, name, ['push']);
    const size = await this.streamToUpload(exchange, name, uploadId, owner, chunkRange(exchange.req));
    exchange.res.writeHead(202, {
      Location: uploadLocation(name, uploadId),
      'Docker-Upload-UUID': uploadId,
      Range: `0-${Math.max(size - 1, 0)}`,
      'Content-Length': 0,
    });
    exchange.res.end();
  }

  private async completeUpload(exchange: Exchange, name: string, uploadId: string): Promise<void> {
    const owner = await this.deps.guard.authorize(exchange.req, name, ['push']);
    const digest = exchange.url.searchParams.get('digest');
    if (!digest) throw new RegistryError('DIGEST_INVALID', 'PUT to an upload needs ?digest=');
    parseDigest(digest);
    if (hasBody(exchange.req)) await this.streamToUpload(exchange, name, uploadId, owner, chunkRange(exchange.req));
    return this.finishBlob(exchange, name, uploadId, owner, digest);
  }

  private async uploadStatus({ req, res, requestId }: Exchange, name: string, uploadId: string): Promise<void> {
    const owner = await this.deps.guard.authorize(req, name, ['push']);
    const { uploads } = this.deps.clients;
    const { size } = await unaryCall(uploads.getUpload.bind(uploads), { uploadId, repository: name, owner }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    res.writeHead(204, { Location: uploadLocation(name, uploadId), 'Docker-Upload-UUID': uploadId, Range: `0-${Math.max(size - 1, 0)}` });
    res.end();
  }

  private async cancelUpload({ req, res, requestId }: Exchange, name: string, uploadId: string): Promise<void> {
    const owner = await this.deps.guard.authorize(req, name, ['push']);
    const { uploads } = this.deps.clients;
    await unaryCall(uploads.cancelUpload.bind(uploads), { uploadId, repository: name, owner }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    res.writeHead(204).end();
  }

  /** Streams the body into the session. blob-upload ends the call at the session's time limit; a body that stalls is cut here. */
  private async streamToUpload({ req, requestId }: Exchange, name: string, uploadId: string, owner: string, range: { offset?: number; length?: number }): Promise<number> {
    const { uploads } = this.deps.clients;
    const { stream, response } = clientStreamCall(uploads.appendUpload.bind(uploads), { requestId, deadlineMs: this.deps.limits.uploadTimeLimitMs + 60_000 });
    stream.write({ part: { $case: 'header', header: { uploadId, repository: name, owner, expectedOffset: range.offset, expectedLength: range.length } } });
    const { size } = await streamBodyToUpload(req, stream, response, this.deps.limits.uploadIdleTimeoutMs);
    return size;
  }

  /** Verifies and records the uploaded bytes as a blob of this repository. */
  private async finishBlob({ res, requestId }: Exchange, name: string, uploadId: string, owner: string, digest: string): Promise<void> {
    const { uploads, metadata } = this.deps.clients;
    const completed = await unaryCall(uploads.completeUpload.bind(uploads), { uploadId, repository: name, owner, digest }, { requestId, deadlineMs: 5 * 60_000 });
    let linked;
    try {
      linked = await unaryCall(
        metadata.linkBlob.bind(metadata),
        { repository: name, blob: { digest: completed.digest, size: completed.size, storageKey: completed.storageKey }, userId: owner },
        { requestId, deadlineMs: UNARY_DEADLINE_MS },
      );
    } catch (err) {
      // Refused (a quota): the verified bytes belong to nobody, so they go.
      await this.deps.store.delete(completed.storageKey).catch(() => undefined);
      throw err;
    }
    if (linked.alreadyExisted && linked.blob?.storageKey !== completed.storageKey) {
      // The same bytes were stored before; keep one copy.
      await this.deps.store.delete(completed.storageKey);
    }
    res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 });
    res.end();
  }

  private async getManifest({ req, res, requestId }: Exchange, name: string, reference: string): Promise<void> {
    checkReference(reference);
    await this.deps.guard.authorize(req, name, ['pull']);
    const { metadata } = this.deps.clients;
    const manifest = await unaryCall(metadata.getManifest.bind(metadata), { repository: name, reference }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    if (!acceptsManifest(req.headers.accept, manifest.mediaType)) {
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is a ${manifest.mediaType}, which the Accept header does not allow`, { mediaType: manifest.mediaType });
    }
    res.writeHead(200, {
      'Content-Type': manifest.mediaType,
      'Content-Length': manifest.content.length,
      'Docker-Content-Digest': manifest.digest,
      ETag: `"${manifest.digest}"`,
    });
    res.end(req.method === 'HEAD' ? undefined : Buffer.from(manifest.content));
  }

  private async putManifest(exchange: Exchange, name: string, reference: string): Promise<void> {
    const { req, res, requestId } = exchange;
    checkReference(reference);
    const actor = await this.deps.guard.authorize(req, name, ['push']);
    await this.requirePackage(name, actor, requestId);
    const content = await readSmallBody(req, this.deps.limits.maxManifestSize);
    const parsed = parseManifest(content, req.headers['content-type']);
    const algorithm = isDigest(reference) ? parseDigest(reference).algorithm : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(content).digest('hex')}`;
    if (isDigest(reference) && reference !== digest) {
      throw new RegistryError('DIGEST_INVALID', `manifest content has digest ${digest}, not ${reference}`, { digest: reference });
    }
    const { metadata } = this.deps.clients;
    const { platform, created } = await this.configFacts(name, parsed.config, requestId);
    await unaryCall(
      metadata.putManifest.bind(metadata),
      {
        repository: name,
        // Pushing by digest may name tags as ?tag= parameters (distribution-spec 1.1).
        tags: isDigest(reference) ? exchange.url.searchParams.getAll('tag') : [reference],
        digest,
        mediaType: parsed.mediaType,
        content,
        blobDigests: [],
        blobDescriptors: parsed.blobs,
        manifestDigests: parsed.manifestDigests,
        subjectDigest: parsed.subjectDigest ?? '',
        artifactType: parsed.artifactType ?? '',
        annotationsJson: parsed.annotations ? JSON.stringify(parsed.annotations) : '',
        platform,
        created,
        userId: actor,
      },
      { requestId, actor, deadlineMs: UNARY_DEADLINE_MS },
    );
    if (parsed.subjectDigest) res.setHeader('OCI-Subject', parsed.subjectDigest);
    const tags = isDigest(reference) ? exchange.url.searchParams.getAll('tag') : [];
    if (tags.length > 0) res.setHeader('OCI-Tag', tags);
    res.writeHead(201, { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 });
    res.end();
  }
}

function json({ req, res }: Exchange, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(payload) });
  res.end(req.method === 'HEAD' ? undefined : payload);
}

function unsupported(method: string): RegistryError {
  return new RegistryError('UNSUPPORTED', `method ${method} is not supported here`);
}

function uploadLocation(name: string, uploadId: string): string {
  return `/v2/${name}/blobs/uploads/${uploadId}`;
}

/**
 * Content negotiation: manifests are stored as pushed and never converted, so
 * the only choice is whether to serve them. An index (multi-platform) goes only
 * to clients that list its type or a wildcard, as older clients cannot read one;
 * single manifests are always served (clients that omit a type still read them).
 */
export function acceptsManifest(accept: string | undefined, mediaType: string): boolean {
  if (!accept || !INDEX_MEDIA_TYPES.has(mediaType)) return true;
  const accepted = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase()).filter(Boolean);
  return accepted.length === 0 || accepted.some((type) => type === '*/*' || type === 'application/*' || type === mediaType);
}

/** `n` and `last` of a paginated listing; n is undefined when not given. `last` must be a tag (or a repository name) as an earlier page returned it. */
function pageParams(url: URL, kind: 'tags' | 'catalog'): { n: number | undefined; last: string } {
  const n = url.searchParams.get('n');
  if (n !== null && !/^\d{1,9}$/.test(n)) throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be a number of results, not ${JSON.stringify(n.slice(0, 20))}`);
  const last = url.searchParams.get('last') ?? '';
  if (last && !(kind === 'tags' ? isTag(last) : isRepositoryName(last))) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', `last must be a ${kind === 'tags' ? 'tag' : 'repository name'} from an earlier page`);
  }
  return { n: n === null ? undefined : Number(n), last };
}

function isTag(value: string): boolean {
  try {
    parseTag(value);
    return true;
  } catch {
    return false;
  }
}

function isRepositoryName(value: string): boolean {
  try {
    parseRepositoryName(value);
    return true;
  } catch {
    return false;
  }
}

function nextLink(path: string, n: number, last: string): string {
  return `<${path}?${new URLSearchParams({ n: String(n), last }).toString()}>; rel="next"`;
}

function checkReference(reference: string): void {
  if (reference.includes(':')) parseDigest(reference);
  else parseTag(reference);
}

/** "start-end" as chunked uploads send it (no "bytes=" prefix). */
export function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const match = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})$/.exec(header.trim());
  if (!match || Number(match[2]) < Number(match[1])) throw new RegistryError('RANGE_INVALID', `invalid Content-Range "${header.slice(0, 100)}"`, undefined, 416);
  return { start: Number(match[1]), end: Number(match[2]) };
}

/**
 * Where a chunk must start and how long it must be: its Content-Range, which
 * must agree with its Content-Length (416 otherwise, before a byte is read);
 * with a chunked body, blob-upload checks the length as the bytes arrive.
 */
function chunkRange(req: IncomingMessage): { offset?: number; length?: number } {
  const range = parseContentRange(req.headers['content-range']);
  if (!range) return {};
  const length = range.end - range.start + 1;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) !== length) {
    throw new RegistryError('RANGE_INVALID', `Content-Range ${range.start}-${range.end} is ${length} bytes, Content-Length says ${declared}`, undefined, 416);
  }
  return { offset: range.start, length };
}

/** A single "bytes=start-end" range within a blob, or undefined for the whole blob. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) throw new RegistryError('RANGE_INVALID', `unsupported Range "${header}"`, undefined, 416);
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(size - Number(match[2]), 0); // suffix range: last N bytes
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) throw new RegistryError('RANGE_INVALID', `Range "${header}" is outside the blob of ${size} bytes`, undefined, 416);
  return { start, end };
}
