import { unaryCall } from '@ocireg/grpc';
import { MEDIA_TYPES, parseDigest } from '@ocireg/oci';
import type { metadata } from '@ocireg/proto';
import type { AccessGuard } from '../access-guard';
import { json, UNARY_DEADLINE_MS, type Exchange } from './exchange';
import { nextLink, pageParams } from './pagination';

/** The OCI API's listings: tags of a repository, the catalog, and referrers of a manifest. */
export class OciListings {
  constructor(private readonly deps: { guard: AccessGuard; metadata: metadata.RegistryMetadataServiceClient }) {}

  /** Tags in lexical order; `n` and `last` paginate, and a Link header points to the next page. */
  async tags(exchange: Exchange, name: string): Promise<void> {
    const { req, res, url, requestId } = exchange;
    await this.deps.guard.authorize(req, name, ['pull']);
    const { n, last } = pageParams(url, 'tags');
    if (n === 0) return json(exchange, 200, { name, tags: [] });
    const { metadata } = this.deps;
    const page = await unaryCall(metadata.listTags.bind(metadata), { name: name, limit: n ?? 0, after: last }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    const lastTag = page.tags[page.tags.length - 1];
    if (page.hasMore && lastTag) res.setHeader('Link', nextLink(`/v2/${name}/tags/list`, n ?? page.tags.length, lastTag));
    return json(exchange, 200, { name, tags: page.tags });
  }

  /** /v2/_catalog: repositories whose packages the caller has a role on (or public ones), paginated like the tags list. */
  async catalog(exchange: Exchange): Promise<void> {
    const { req, res, url, requestId } = exchange;
    const viewer = await this.deps.guard.viewer(req, 'registry:catalog:*');
    const { n, last } = pageParams(url, 'catalog');
    if (n === 0) return json(exchange, 200, { repositories: [] });
    const { metadata } = this.deps;
    const page = await unaryCall(metadata.listCatalog.bind(metadata), { limit: n ?? 0, after: last, viewerUserId: viewer }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    const lastName = page.names[page.names.length - 1];
    if (page.hasMore && lastName) res.setHeader('Link', nextLink('/v2/_catalog', n ?? page.names.length, lastName));
    // The distribution spec's word for names.
    return json(exchange, 200, { repositories: page.names });
  }

  /** The referrers API: an image index of the manifests whose subject is `digest`. */
  async referrers(exchange: Exchange, name: string, digest: string): Promise<void> {
    const { req, res, url, requestId } = exchange;
    parseDigest(digest);
    await this.deps.guard.authorize(req, name, ['pull']);
    const artifactType = url.searchParams.get('artifactType') ?? '';
    const { metadata } = this.deps;
    const { referrers } = await unaryCall(metadata.listReferrers.bind(metadata), { name: name, digest, artifactType }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
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
}
