import { INDEX_MEDIA_TYPES } from './grammar';

/** What a listing shows a manifest as. Attestations and signatures are labelled, never "unknown/unknown" images. */
export type ManifestKind = 'image' | 'index' | 'attestation' | 'signature' | 'artifact';

export interface Platform {
  os: string;
  architecture: string;
  variant: string;
}

export interface BlobFacts {
  digest: string;
  mediaType: string;
  size: number;
}

export interface IndexEntryFacts extends BlobFacts {
  /** Absent for entries without a platform and for attestations ("unknown/unknown"). */
  platform?: Platform;
  kind: ManifestKind;
}

/** Everything a listing needs from one manifest, derived only from its bytes and its config's facts. */
export interface ManifestFacts {
  kind: ManifestKind;
  artifactType: string;
  /** An image: the platform its config names. */
  platform?: Platform;
  /** An image: the `created` time of its config (RFC 3339). */
  created?: string;
  config?: BlobFacts;
  layers: BlobFacts[];
  /** An index: its entries in order. */
  entries: IndexEntryFacts[];
  subject?: string;
}

const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
const SIGNATURE_TYPE = /signature|cosign\.simplesigning|notary/i;
// dsse: the envelope cosign attest (and other in-toto signers) store an attestation in.
const ATTESTATION_TYPE = /in-toto|attestation|spdx|cyclonedx|sbom|vex|dsse/i;
/** How buildx marks an index entry that attests another entry. */
const DOCKER_REFERENCE_TYPE = 'vnd.docker.reference.type';

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  artifactType?: unknown;
  platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
  annotations?: Record<string, unknown>;
}

interface ManifestDocument {
  mediaType?: unknown;
  artifactType?: unknown;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
}

/**
 * Derives a manifest's listing facts. Metadata puts them in the
 * manifest.pushed event and in the rebuild snapshot, so both paths build
 * the same read model. Malformed parts are skipped, never thrown: the
 * manifest was validated when it was pushed.
 */
export function describeManifest(input: { mediaType: string; content: Buffer; platform?: string; created?: string }): ManifestFacts {
  const document = parseDocument(input.content);
  const subject = typeof document.subject?.digest === 'string' ? document.subject.digest : undefined;
  if (INDEX_MEDIA_TYPES.has(input.mediaType)) {
    const entries = (document.manifests ?? []).flatMap((entry) => {
      const blob = blobOf(entry);
      if (!blob) return [];
      const kind = entryKind(entry);
      const platform = kind === 'attestation' ? undefined : platformOf(entry.platform);
      return [{ ...blob, kind, ...(platform ? { platform } : {}) }];
    });
    return { kind: 'index', artifactType: stringOr(document.artifactType), layers: [], entries, ...(subject ? { subject } : {}) };
  }
  const config = document.config ? blobOf(document.config) : undefined;
  const layers = (document.layers ?? []).flatMap((layer) => blobOf(layer) ?? []);
  const artifactType = stringOr(document.artifactType) || (config && !IMAGE_CONFIG_TYPES.has(config.mediaType) ? config.mediaType : '');
  const kind = manifestKind(artifactType, config, layers);
  const platform = kind === 'image' && input.platform ? platformFromText(input.platform) : undefined;
  const created = kind === 'image' && input.created && !Number.isNaN(Date.parse(input.created)) ? new Date(input.created).toISOString() : undefined;
  return {
    kind,
    artifactType,
    ...(platform ? { platform } : {}),
    ...(created ? { created } : {}),
    ...(config ? { config } : {}),
    layers,
    entries: [],
    ...(subject ? { subject } : {}),
  };
}

function manifestKind(artifactType: string, config: BlobFacts | undefined, layers: BlobFacts[]): ManifestKind {
  const types = [artifactType, ...layers.map((layer) => layer.mediaType)];
  if (types.some((type) => SIGNATURE_TYPE.test(type))) return 'signature';
  if (artifactType ? ATTESTATION_TYPE.test(artifactType) : layers.length > 0 && layers.every((layer) => ATTESTATION_TYPE.test(layer.mediaType))) return 'attestation';
  if (!artifactType && (!config || IMAGE_CONFIG_TYPES.has(config.mediaType))) return 'image';
  return 'artifact';
}

function entryKind(entry: Descriptor): ManifestKind {
  const referenceType = entry.annotations?.[DOCKER_REFERENCE_TYPE];
  if (referenceType === 'attestation-manifest') return 'attestation';
  const artifactType = stringOr(entry.artifactType);
  if (artifactType && SIGNATURE_TYPE.test(artifactType)) return 'signature';
  if (artifactType && ATTESTATION_TYPE.test(artifactType)) return 'attestation';
  if (typeof entry.mediaType === 'string' && INDEX_MEDIA_TYPES.has(entry.mediaType)) return 'index';
  if (entry.platform?.os === 'unknown' && entry.platform.architecture === 'unknown') return 'attestation';
  return artifactType ? 'artifact' : 'image';
}

function parseDocument(content: Buffer): ManifestDocument {
  try {
    const parsed: unknown = JSON.parse(content.toString('utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as ManifestDocument) : {};
  } catch {
    return {};
  }
}

function blobOf(descriptor: Descriptor): BlobFacts | undefined {
  const { digest, mediaType, size } = descriptor;
  if (typeof digest !== 'string' || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  return { digest, mediaType: stringOr(mediaType), size };
}

function platformOf(platform: Descriptor['platform']): Platform | undefined {
  if (!platform || typeof platform.os !== 'string' || typeof platform.architecture !== 'string') return undefined;
  return { os: platform.os, architecture: platform.architecture, variant: stringOr(platform.variant) };
}

/** "os/arch[/variant]", as the gateway reads it from an image's config. */
export function platformFromText(text: string): Platform | undefined {
  const [os, architecture, variant = ''] = text.split('/');
  return os && architecture ? { os, architecture, variant } : undefined;
}

function stringOr(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
