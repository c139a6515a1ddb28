import { buffer } from 'node:stream/consumers';
import { unaryCall } from '@ocireg/grpc';
import type { metadata } from '@ocireg/proto';
import type { BlobStore } from '@ocireg/storage';
import type { ConfigFacts } from '@ocireg/web-api';

const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
const MAX_CONFIG_BYTES = 1024 * 1024;
const CACHE_ENTRIES = 500;

/**
 * Facts of image configs the read model does not keep (entrypoint, command,
 * labels, ...), read from the config blob when a tag page asks: configs are
 * small and content-addressed, so they are cached by digest and never stale.
 */
export class ImageConfigs {
  private readonly cache = new Map<string, ConfigFacts | undefined>();

  constructor(private readonly deps: { metadata: metadata.RegistryMetadataServiceClient; store: BlobStore }) {}

  /** Undefined for configs that are not image configs, too large, or unreadable. */
  async factsOf(repository: string, config: { digest: string; mediaType: string; size: number } | undefined, requestId: string): Promise<ConfigFacts | undefined> {
    if (!config || !IMAGE_CONFIG_TYPES.has(config.mediaType) || config.size > MAX_CONFIG_BYTES) return undefined;
    if (this.cache.has(config.digest)) return this.cache.get(config.digest);
    const { metadata, store } = this.deps;
    let facts: ConfigFacts | undefined;
    try {
      const { blob } = await unaryCall(metadata.statBlob.bind(metadata), { name: repository, digest: config.digest }, { requestId });
      if (blob && blob.size <= MAX_CONFIG_BYTES) facts = parseConfig((await buffer(await store.read(blob.storageKey))).toString('utf8'));
    } catch {
      return undefined; // not linked here (yet), or storage trouble: the page shows the rest
    }
    if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(config.digest, facts);
    return facts;
  }
}

export function parseConfig(text: string): ConfigFacts | undefined {
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!document || typeof document !== 'object') return undefined;
  const inner = (document.config ?? {}) as Record<string, unknown>;
  const str = (value: unknown) => (typeof value === 'string' ? value.slice(0, 1000) : '');
  const list = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').slice(0, 100).map((v) => v.slice(0, 1000)) : []);
  const labels: Record<string, string> = {};
  if (inner.Labels && typeof inner.Labels === 'object') {
    for (const [key, value] of Object.entries(inner.Labels as Record<string, unknown>).slice(0, 200)) if (typeof value === 'string') labels[key.slice(0, 200)] = value.slice(0, 1000);
  }
  return {
    created: str(document.created),
    os: str(document.os),
    architecture: str(document.architecture),
    variant: str(document.variant),
    entrypoint: list(inner.Entrypoint),
    cmd: list(inner.Cmd),
    workingDir: str(inner.WorkingDir),
    user: str(inner.User),
    exposedPorts: inner.ExposedPorts && typeof inner.ExposedPorts === 'object' ? Object.keys(inner.ExposedPorts).slice(0, 100) : [],
    labels,
    historySteps: Array.isArray(document.history) ? document.history.length : 0,
  };
}
