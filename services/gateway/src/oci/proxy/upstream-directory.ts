import { unaryCall } from '@ocireg/grpc';
import type { TargetGuard } from '@ocireg/outbound';
import type { metadata } from '@ocireg/proto';
import { UNARY_DEADLINE_MS } from '../exchange';
import { UpstreamClient } from './upstream-client';

/** A name the cache serves: its upstream and the repository there. */
export interface ProxyTarget {
  /** "<workspace>/<upstream>". */
  label: string;
  client: UpstreamClient;
  /** The name at the upstream: the OCI name without "<workspace>/<upstream>/". */
  repository: string;
  tagTtlMs: number;
}

interface Entry {
  upstream?: { client: UpstreamClient; namespaces: string[]; tagTtlMs: number };
  until: number;
}

/** How long an answer of metadata (an upstream, or that there is none) is kept. */
const LOOKUP_CACHE_MS = 15_000;
const MAX_ENTRIES = 10_000;
/** Workspaces and upstreams are named by slugs. */
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * Which names an upstream serves: `<workspace>/<upstream>/<repository...>`
 * when the workspace has an upstream of that name whose namespaces include
 * the repository. Metadata's answers (with the opened credentials, kept in
 * memory only) are cached briefly, so a pull of an ordinary name costs a map
 * lookup; names of two segments never ask at all.
 */
export class UpstreamDirectory {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly metadata: metadata.RegistryMetadataServiceClient,
    private readonly options: { timeoutMs: number; allowedHosts: string[]; guard: TargetGuard },
  ) {}

  async target(name: string, requestId: string): Promise<ProxyTarget | undefined> {
    const first = name.indexOf('/');
    const second = name.indexOf('/', first + 1);
    if (first < 0 || second < 0) return undefined;
    const key = name.slice(0, second);
    let entry = this.entries.get(key);
    if (!entry || entry.until < Date.now()) {
      entry = await this.lookup(name.slice(0, first), name.slice(first + 1, second), requestId);
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(key, entry);
    }
    const upstream = entry.upstream;
    if (!upstream) return undefined;
    const repository = name.slice(second + 1);
    if (upstream.namespaces.length > 0 && !upstream.namespaces.some((ns) => repository === ns || repository.startsWith(`${ns}/`))) return undefined;
    return { label: key, client: upstream.client, repository, tagTtlMs: upstream.tagTtlMs };
  }

  private async lookup(workspaceSlug: string, upstreamName: string, requestId: string): Promise<Entry> {
    const until = Date.now() + LOOKUP_CACHE_MS;
    // Only names metadata would accept are asked about (an upstream's name is a slug).
    if (!SLUG.test(workspaceSlug) || !SLUG.test(upstreamName) || upstreamName.length > 63) return { until };
    const found = await unaryCall(this.metadata.resolveUpstream.bind(this.metadata), { workspaceSlug, name: upstreamName }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    if (!found.found || !this.allowed(found.url)) return { until };
    const label = `${workspaceSlug}/${upstreamName}`;
    const client = new UpstreamClient({ label, url: found.url, username: found.username, password: found.password }, this.options.timeoutMs, this.options.guard);
    return { upstream: { client, namespaces: found.namespaces, tagTtlMs: found.tagTtlSeconds * 1000 }, until };
  }

  /** UPSTREAM_ALLOWED_HOSTS, when the operator set it, lists the hosts upstreams may point at. */
  private allowed(url: string): boolean {
    const { allowedHosts } = this.options;
    return allowedHosts.length === 0 || allowedHosts.includes(new URL(url).host);
  }
}
