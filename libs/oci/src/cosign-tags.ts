import type { ManifestKind } from './describe';

/**
 * cosign's tag scheme, which registries without the referrers API taught
 * every client: a signature, attestation or SBOM of the manifest
 * `sha256:<hex>` is stored under the tag `sha256-<hex>.sig`, `.att` or
 * `.sbom` (the fallback the distribution spec describes for referrers, with
 * cosign's suffixes). Listings show such tags under their subject.
 */
export interface CosignTag {
  /** The digest of the manifest the tag is about. */
  subject: string;
  /** What the tag holds, as listings label it: an SBOM is an attestation. */
  kind: Extract<ManifestKind, 'signature' | 'attestation'>;
}

const SUFFIX_KINDS: Record<string, CosignTag['kind']> = { sig: 'signature', att: 'attestation', sbom: 'attestation' };

/** The same pattern in JavaScript and in PostgreSQL (`tag ~ COSIGN_TAG_PATTERN`). */
export const COSIGN_TAG_PATTERN = '^(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})\\.(sig|att|sbom)$';
const COSIGN_TAG = new RegExp(COSIGN_TAG_PATTERN);

/** What a cosign tag is about, or undefined for any other tag. */
export function parseCosignTag(tag: string): CosignTag | undefined {
  const match = COSIGN_TAG.exec(tag);
  if (!match) return undefined;
  return { subject: match[1]!.replace('-', ':'), kind: SUFFIX_KINDS[match[2]!]! };
}

/** The tags cosign would store a manifest's signatures, attestations and SBOMs under. */
export function cosignTagsOf(digest: string): string[] {
  const stem = digest.replace(':', '-');
  return Object.keys(SUFFIX_KINDS).map((suffix) => `${stem}.${suffix}`);
}
