import { RegistryError } from '@ocireg/errors';

// Grammar from the OCI distribution spec ("Pulling manifests").
const PATH_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const REPOSITORY_NAME = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_HEX: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };
/** Longest name the spec asks registries to accept is 255 characters including the host; keep a margin. */
const MAX_NAME_LENGTH = 255;

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** "algorithm:hex" */
  value: string;
}

/** Parses "sha256:<64 hex>" or "sha512:<128 hex>"; anything else is DIGEST_INVALID. */
export function parseDigest(candidate: string): Digest {
  const separator = candidate.indexOf(':');
  const algorithm = candidate.slice(0, separator);
  const hex = candidate.slice(separator + 1);
  const pattern = DIGEST_HEX[algorithm];
  if (separator < 0 || !pattern || !pattern.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', `invalid digest "${truncate(candidate)}": expected sha256:<64 hex> or sha512:<128 hex>`);
  }
  return { algorithm: algorithm as DigestAlgorithm, hex, value: candidate };
}

export function isDigest(candidate: string): boolean {
  try {
    parseDigest(candidate);
    return true;
  } catch {
    return false;
  }
}

export interface RepositoryName {
  /** The whole name, e.g. "acme/tools/api". */
  value: string;
  /** The first path segment. */
  workspace: string;
  /** The rest, e.g. "tools/api". */
  image: string;
}

/** Validates a repository name; the first segment is the workspace, so at least two segments are required. */
export function parseRepositoryName(candidate: string): RepositoryName {
  if (candidate.length > MAX_NAME_LENGTH || !REPOSITORY_NAME.test(candidate)) {
    throw new RegistryError('NAME_INVALID', `invalid repository name "${truncate(candidate)}"`);
  }
  const slash = candidate.indexOf('/');
  if (slash < 0) {
    throw new RegistryError('NAME_INVALID', `repository name "${candidate}" must start with a workspace: <workspace>/<image>`);
  }
  return { value: candidate, workspace: candidate.slice(0, slash), image: candidate.slice(slash + 1) };
}

export function isTag(candidate: string): boolean {
  return TAG.test(candidate);
}

export function parseTag(candidate: string): string {
  if (!isTag(candidate)) throw new RegistryError('MANIFEST_INVALID', `invalid tag "${truncate(candidate)}"`);
  return candidate;
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}...` : value;
}

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]);
