import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import { indexer, type metadata } from '@ocireg/proto';
import type { AccessGuard } from './access-guard';
import { requireVisibleImage, visibilityIn } from './visibility';

/** The JSON listing API (for the UI and scripts), served from the indexer's read model. */
export type ListingRoute =
  | { kind: 'images'; workspace: string }
  | { kind: 'image'; workspace: string; name: string }
  | { kind: 'tag'; workspace: string; name: string; tag: string };

// Image names contain slashes; "-" cannot be a name component, so "/-/" separates the tag part.
const PATTERNS: Array<[RegExp, (m: RegExpMatchArray) => ListingRoute]> = [
  [/^\/api\/v1\/workspaces\/([^/]+)\/images\/?$/, (m) => ({ kind: 'images', workspace: m[1]! })],
  [/^\/api\/v1\/workspaces\/([^/]+)\/images\/(.+)\/-\/tags\/([^/]+)$/, (m) => ({ kind: 'tag', workspace: m[1]!, name: m[2]!, tag: m[3]! })],
  [/^\/api\/v1\/workspaces\/([^/]+)\/images\/(.+)$/, (m) => ({ kind: 'image', workspace: m[1]!, name: m[2]! })],
];

export function matchListingRoute(pathname: string): ListingRoute | undefined {
  for (const [pattern, build] of PATTERNS) {
    const match = pathname.match(pattern);
    if (match) return build(match);
  }
  return undefined;
}

const SORTS: Record<string, indexer.ImageSort> = { name: indexer.ImageSort.IMAGE_SORT_NAME, last_pushed: indexer.ImageSort.IMAGE_SORT_LAST_PUSHED };

/** Largest page of the listing API. */
const MAX_PAGE_SIZE = 500;

export class ListingApi {
  constructor(private readonly deps: { guard: AccessGuard; indexer: indexer.IndexerServiceClient; metadata: metadata.RegistryMetadataServiceClient }) {}

  /**
   * Callers authenticate as on the registry API (Basic with an API token, or a
   * registry token) and see the packages they have a role on (or public ones);
   * anything else answers as if it did not exist.
   */
  async handle(route: ListingRoute, exchange: { req: IncomingMessage; res: ServerResponse; url: URL; requestId: string }): Promise<void> {
    const { req, res, url, requestId } = exchange;
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new RegistryError('UNSUPPORTED', `method ${req.method ?? ''} is not supported here`);
    const viewer = await this.deps.guard.viewer(req, 'registry:catalog:*');
    const client = this.deps.indexer;
    const options = { requestId, deadlineMs: 10_000 };
    switch (route.kind) {
      case 'images': {
        const params = url.searchParams;
        const sortName = params.get('sort') ?? 'name';
        const sort = SORTS[sortName];
        if (sort === undefined) throw new RegistryError('INVALID_ARGUMENT', `sort must be one of: ${Object.keys(SORTS).join(', ')}`, { sort: sortName.slice(0, 40) });
        const pageSizeText = params.get('page_size') ?? '0';
        const pageSize = /^\d{1,4}$/.test(pageSizeText) ? Number(pageSizeText) : NaN;
        if (!(pageSize >= 0 && pageSize <= MAX_PAGE_SIZE)) throw new RegistryError('INVALID_ARGUMENT', `page_size must be a whole number from 0 to ${MAX_PAGE_SIZE}`, { field: 'page_size' });
        const visibility = await visibilityIn(this.deps.metadata, viewer, route.workspace, requestId);
        const page = await unaryCall(
          client.listImages.bind(client),
          {
            workspace: route.workspace,
            project: params.get('project') ?? '',
            sourceRepositoryId: params.get('repository') ?? '',
            namePrefix: params.get('prefix') ?? '',
            sort,
            pageSize,
            pageToken: params.get('page_token') ?? '',
            visibility,
          },
          options,
        );
        return sendJson(req, res, { images: page.images, nextPageToken: page.nextPageToken });
      }
      case 'image':
        await requireVisibleImage(this.deps.metadata, viewer, route.workspace, route.name, requestId);
        return sendJson(req, res, await unaryCall(client.getImage.bind(client), { workspace: route.workspace, name: route.name }, options));
      case 'tag':
        await requireVisibleImage(this.deps.metadata, viewer, route.workspace, route.name, requestId);
        return sendJson(req, res, await unaryCall(client.getTag.bind(client), { workspace: route.workspace, name: route.name, tag: route.tag }, options));
    }
  }
}

function sendJson(req: IncomingMessage, res: ServerResponse, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(payload), 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : payload);
}
