import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { buffer } from 'node:stream/consumers';
import { RegistryError } from '@ocireg/errors';
import { clientStreamCall, unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { INDEX_MEDIA_TYPES, isDigest, MEDIA_TYPES, parseDigest, parseRepositoryName, parseTag } from '@ocireg/oci';
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
  limits: { uploadTimeLimitMs: number; maxManifestSize: number };
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

  /** Pushing needs the package behind the name (see EnsurePackage). */
  private async requirePackage(name: string, requestId: string): Promise<void> {
    const confirmedAt = this.knownPackages.get(name);
    if (confirmedAt !== undefined && Date.now() - confirmedAt < PACKAGE_CACHE_MS) return;
    const { metadata } = this.deps.clients;
    await unaryCall(metadata.ensurePackage.bind(metadata), { repository: name }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
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
      return handleTokenRequest(exchange.req, exchange.res, exchange.url, this.deps.clients.auth, exchange.requestId);
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
    const { n, last } = pageParams(url);
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
    await this.deps.guard.authorize(req, name, ['push']);
    await this.requirePackage(name, requestId);
    const mount = url.searchParams.get('mount');
    if (mount !== null && (await this.tryMount(exchange, name, mount, url.searchParams.get('from')))) return;
    const digest = url.searchParams.get('digest');
    if (digest !== null) parseDigest(digest);
    const { uploads } = this.deps.clients;
    const { uploadId } = await unaryCall(uploads.startUpload.bind(uploads), { repository: name }, { requestId, deadlineMs: UNARY_DEADLINE_MS });

    if (digest !== null) {
      // Monolithic upload: POST ?digest= with the whole blob as the body.
      if (hasBody(req)) await this.streamToUpload(exchange, name, uploadId, undefined);
      return this.finishBlob(exchange, name, uploadId, digest);
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
  private async tryMount({ req, res, requestId }: Exchange, name: string, mount: string, from: string | null): Promise<boolean> {
    parseDigest(mount);
    if (!from || from === name) return false;
    try {
      parseRepositoryName(from);
      await this.deps.guard.authorize(req, from, ['pull']);
      const { metadata } = this.deps.clients;
      await unaryCall(metadata.mountBlob.bind(metadata), { fromRepository: from, toRepository: name, digest: mount }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
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
    const visible = await this.deps.guard.catalogWorkspaces(req);
    const { n, last } = pageParams(url);
    if (n === 0 || (visible !== 'all' && visible.length === 0)) return json(exchange, 200, { repositories: [] });
    const { metadata } = this.deps.clients;
    const page = await unaryCall(
      metadata.listRepositories.bind(metadata),
      { limit: n ?? 0, after: last, workspaces: visible === 'all' ? [] : visible },
      { requestId, deadlineMs: UNARY_DEADLINE_MS },
    );
    const lastName = page.repositories[page.repositories.length - 1];
    if (page.hasMore && lastName) res.setHeader('Link', nextLink('/v2/_catalog', n ?? page.repositories.length, lastName));
    return json(exchange, 200, { repositories: page.repositories });
  }

  private async appendUpload(exchange: Exchange, name: string, uploadId: string): Promise<void> {
    await this.deps.guard.authorize(exchange.req, name, ['push']);
    const expectedOffset = parseContentRangeStart(exchange.req.headers['content-range']);
    const size = await this.streamToUpload(exchange, name, uploadId, expectedOffset);
    exchange.res.writeHead(202, {
      Location: uploadLocation(name, uploadId),
      'Docker-Upload-UUID': uploadId,
      Range: `0-${Math.max(size - 1, 0)}`,
      'Content-Length': 0,
    });
    exchange.res.end();
  }

  private async completeUpload(exchange: Exchange, name: string, uploadId: string): Promise<void> {
    await this.deps.guard.authorize(exchange.req, name, ['push']);
    const digest = exchange.url.searchParams.get('digest');
    if (!digest) throw new RegistryError('DIGEST_INVALID', 'PUT to an upload needs ?digest=');
    parseDigest(digest);
    if (hasBody(exchange.req)) {
      await this.streamToUpload(exchange, name, uploadId, parseContentRangeStart(exchange.req.headers['content-range']));
    }
    return this.finishBlob(exchange, name, uploadId, digest);
  }

  private async uploadStatus({ req, res, requestId }: Exchange, name: string, uploadId: string): Promise<void> {
    await this.deps.guard.authorize(req, name, ['push']);
    const { uploads } = this.deps.clients;
    const { size } = await unaryCall(uploads.getUpload.bind(uploads), { uploadId, repository: name }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    res.writeHead(204, { Location: uploadLocation(name, uploadId), 'Docker-Upload-UUID': uploadId, Range: `0-${Math.max(size - 1, 0)}` });
    res.end();
  }

  private async cancelUpload({ req, res, requestId }: Exchange, name: string, uploadId: string): Promise<void> {
    await this.deps.guard.authorize(req, name, ['push']);
    const { uploads } = this.deps.clients;
    await unaryCall(uploads.cancelUpload.bind(uploads), { uploadId, repository: name }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    res.writeHead(204).end();
  }

  private async streamToUpload({ req, requestId }: Exchange, name: string, uploadId: string, expectedOffset: number | undefined): Promise<number> {
    const { uploads } = this.deps.clients;
    const { stream, response } = clientStreamCall(uploads.appendUpload.bind(uploads), { requestId, deadlineMs: this.deps.limits.uploadTimeLimitMs + 60_000 });
    stream.write({ part: { $case: 'header', header: { uploadId, repository: name, expectedOffset } } });
    const { size } = await streamBodyToUpload(req, stream, response);
    return size;
  }

  /** Verifies and records the uploaded bytes as a blob of this repository. */
  private async finishBlob({ res, requestId }: Exchange, name: string, uploadId: string, digest: string): Promise<void> {
    const { uploads, metadata } = this.deps.clients;
    const completed = await unaryCall(uploads.completeUpload.bind(uploads), { uploadId, repository: name, digest }, { requestId, deadlineMs: 5 * 60_000 });
    let linked;
    try {
      linked = await unaryCall(
        metadata.linkBlob.bind(metadata),
        { repository: name, blob: { digest: completed.digest, size: completed.size, storageKey: completed.storageKey } },
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
    await this.requirePackage(name, requestId);
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
        blobDigests: parsed.blobDigests,
        manifestDigests: parsed.manifestDigests,
        subjectDigest: parsed.subjectDigest ?? '',
        artifactType: parsed.artifactType ?? '',
        annotationsJson: parsed.annotations ? JSON.stringify(parsed.annotations) : '',
        platform,
        created,
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

/** `n` and `last` of a paginated listing; n is undefined when not given. */
function pageParams(url: URL): { n: number | undefined; last: string } {
  const n = url.searchParams.get('n');
  if (n !== null && !/^\d{1,9}$/.test(n)) throw new RegistryError('UNSUPPORTED', `invalid page size n=${n}`);
  return { n: n === null ? undefined : Number(n), last: url.searchParams.get('last') ?? '' };
}

function nextLink(path: string, n: number, last: string): string {
  return `<${path}?${new URLSearchParams({ n: String(n), last }).toString()}>; rel="next"`;
}

function checkReference(reference: string): void {
  if (reference.includes(':')) parseDigest(reference);
  else parseTag(reference);
}

/** "start-end" as chunked uploads send it (no "bytes=" prefix); returns start. */
export function parseContentRangeStart(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(header.trim());
  if (!match) throw new RegistryError('RANGE_INVALID', `invalid Content-Range "${header}"`, undefined, 416);
  return Number(match[1]);
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

interface ParsedManifest {
  mediaType: string;
  blobDigests: string[];
  manifestDigests: string[];
  subjectDigest?: string;
  /** artifactType, or config.mediaType for image manifests without one. */
  artifactType?: string;
  annotations?: Record<string, string>;
  config?: { digest: string; mediaType: string; size: number };
}

interface Descriptor {
  digest?: unknown;
  mediaType?: unknown;
}

/** Reads what the registry must check in a manifest: its media type and the digests it references. */
function isNonDistributable(descriptor: Descriptor): boolean {
  return typeof descriptor?.mediaType === 'string' && /nondistributable|\.foreign\./.test(descriptor.mediaType);
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new RegistryError('MANIFEST_INVALID', 'annotations must map strings to strings');
  }
  return value as Record<string, string>;
}

export function parseManifest(content: Buffer, contentType: string | undefined): ParsedManifest {
  let document: { mediaType?: unknown; config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[]; subject?: Descriptor; artifactType?: unknown; annotations?: unknown };
  try {
    document = JSON.parse(content.toString('utf8'));
  } catch {
    throw new RegistryError('MANIFEST_INVALID', 'manifest is not valid JSON');
  }
  if (!document || typeof document !== 'object' || Array.isArray(document)) throw new RegistryError('MANIFEST_INVALID', 'manifest must be a JSON object');
  const declared = typeof document.mediaType === 'string' ? document.mediaType : undefined;
  const headerType = contentType?.split(';')[0]?.trim();
  const mediaType = declared ?? headerType;
  if (!mediaType) throw new RegistryError('MANIFEST_INVALID', 'manifest media type is missing (no mediaType field and no Content-Type)');

  const digestsOf = (descriptors: unknown, field: string): string[] => {
    if (descriptors === undefined) return [];
    if (!Array.isArray(descriptors)) throw new RegistryError('MANIFEST_INVALID', `${field} must be an array`);
    return descriptors.map((d: Descriptor, i) => {
      if (typeof d?.digest !== 'string' || !isDigest(d.digest)) throw new RegistryError('MANIFEST_INVALID', `${field}[${i}].digest is not a valid digest`);
      return d.digest;
    });
  };

  const subjectDigest = document.subject === undefined ? undefined : digestsOf([document.subject], 'subject')[0];
  const annotations = stringMap(document.annotations);
  const declaredArtifactType = typeof document.artifactType === 'string' ? document.artifactType : undefined;

  const isIndex = INDEX_MEDIA_TYPES.has(mediaType) || (document.manifests !== undefined && document.layers === undefined);
  if (isIndex) {
    return { mediaType, blobDigests: [], manifestDigests: digestsOf(document.manifests, 'manifests'), subjectDigest, artifactType: declaredArtifactType, annotations };
  }

  // Non-distributable (foreign) layers live elsewhere by design and are never pushed.
  const layers = document.layers ?? [];
  if (!Array.isArray(layers)) throw new RegistryError('MANIFEST_INVALID', 'layers must be an array');
  const blobDigests = digestsOf(layers.filter((layer) => !isNonDistributable(layer)), 'layers');
  if (document.config !== undefined) blobDigests.unshift(...digestsOf([document.config], 'config'));
  const configType = typeof document.config?.mediaType === 'string' ? document.config.mediaType : undefined;
  const configSize = Number((document.config as { size?: unknown } | undefined)?.size);
  const config = document.config && configType && Number.isFinite(configSize) ? { digest: String(document.config.digest), mediaType: configType, size: configSize } : undefined;
  return { mediaType, blobDigests, manifestDigests: [], subjectDigest, artifactType: declaredArtifactType ?? configType, annotations, ...(config ? { config } : {}) };
}
