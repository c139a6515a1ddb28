import { z } from 'zod';
import { RegistryError } from '@ocireg/errors';
import { isDigest, MEDIA_TYPES } from './grammar';

/**
 * The four manifest formats a registry stores, each checked against its
 * schema (OCI image-spec v1.1, Docker image manifest v2 schema 2): an
 * object that is none of them, a descriptor without a valid digest or size,
 * or a body whose mediaType disagrees with its Content-Type is MANIFEST_INVALID.
 * Unknown fields are allowed, as the specs ask.
 */

// RFC 6838 type/subtype, as the OCI image-spec's descriptor schema gives it.
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

const mediaType = z.string().regex(MEDIA_TYPE, 'is not a media type');
const digest = z.string().refine(isDigest, 'is not a sha256 or sha512 digest');
const size = z.number().int('must be an integer').nonnegative().max(Number.MAX_SAFE_INTEGER);
const annotations = z.record(z.string(), z.string());

const platform = z.object({
  architecture: z.string().min(1),
  os: z.string().min(1),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});

const descriptor = z.object({
  mediaType,
  digest,
  size,
  urls: z.array(z.string()).optional(),
  annotations: annotations.optional(),
  data: z.string().optional(),
  artifactType: mediaType.optional(),
  platform: platform.optional(),
});

const ociManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MEDIA_TYPES.ociManifest).optional(),
  artifactType: mediaType.optional(),
  config: descriptor,
  layers: z.array(descriptor),
  subject: descriptor.optional(),
  annotations: annotations.optional(),
});

const ociIndex = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MEDIA_TYPES.ociIndex).optional(),
  artifactType: mediaType.optional(),
  manifests: z.array(descriptor),
  subject: descriptor.optional(),
  annotations: annotations.optional(),
});

const dockerManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MEDIA_TYPES.dockerManifest),
  config: descriptor,
  layers: z.array(descriptor),
});

const dockerManifestList = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MEDIA_TYPES.dockerManifestList),
  manifests: z.array(descriptor.extend({ platform })),
});

const SCHEMAS: Record<string, z.ZodTypeAny> = {
  [MEDIA_TYPES.ociManifest]: ociManifest,
  [MEDIA_TYPES.ociIndex]: ociIndex,
  [MEDIA_TYPES.dockerManifest]: dockerManifest,
  [MEDIA_TYPES.dockerManifestList]: dockerManifestList,
};

export interface BlobDescriptor {
  digest: string;
  size: number;
}

/** What the registry must check and record of a manifest. */
export interface ParsedManifest {
  mediaType: string;
  /** Config and layers that must be in the repository (non-distributable layers left out). */
  blobs: BlobDescriptor[];
  /** An index's manifests, which must be in the repository. */
  manifestDigests: string[];
  subjectDigest?: string;
  /** artifactType, or config.mediaType for image manifests without one. */
  artifactType?: string;
  annotations?: Record<string, string>;
  config?: { digest: string; mediaType: string; size: number };
}

type Descriptor = z.infer<typeof descriptor>;

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}

/** Non-distributable (foreign) layers live elsewhere by design and are never pushed. */
function isNonDistributable(layer: Descriptor): boolean {
  return /nondistributable|\.foreign\./.test(layer.mediaType);
}

/** The media type without parameters (e.g. "; charset=utf-8"), lower-cased. */
function bareType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type || undefined;
}

export function parseManifest(content: Buffer, contentType: string | undefined): ParsedManifest {
  let document: unknown;
  try {
    document = JSON.parse(content.toString('utf8'));
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  if (!document || typeof document !== 'object' || Array.isArray(document)) throw invalid('manifest must be a JSON object');

  const declared = (document as { mediaType?: unknown }).mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('mediaType must be a string');
  const header = bareType(contentType);
  if (declared !== undefined && header !== undefined && header !== declared) {
    throw invalid(`the manifest's mediaType ${declared.slice(0, 100)} disagrees with its Content-Type ${header.slice(0, 100)}`);
  }
  const type = declared ?? header;
  const schema = type === undefined ? undefined : SCHEMAS[type];
  if (!schema) throw invalid(`unsupported manifest media type ${type === undefined ? '(none: no mediaType field and no Content-Type)' : type.slice(0, 100)}; expected one of ${Object.keys(SCHEMAS).join(', ')}`);

  const parsed = schema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`not a valid ${type}: ${issue.path.join('.') || '(document)'} ${issue.message}`);
  }
  const manifest = parsed.data as { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[]; subject?: Descriptor; artifactType?: string; annotations?: Record<string, string> };
  const common = {
    mediaType: type!,
    ...(manifest.subject ? { subjectDigest: manifest.subject.digest } : {}),
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
  if (manifest.manifests) {
    return { ...common, blobs: [], manifestDigests: manifest.manifests.map((m) => m.digest), ...(manifest.artifactType ? { artifactType: manifest.artifactType } : {}) };
  }
  const config = manifest.config!;
  const layers = manifest.layers!.filter((layer) => !isNonDistributable(layer));
  return {
    ...common,
    blobs: [config, ...layers].map((d) => ({ digest: d.digest, size: d.size })),
    manifestDigests: [],
    artifactType: manifest.artifactType ?? config.mediaType,
    config: { digest: config.digest, mediaType: config.mediaType, size: config.size },
  };
}
