/** Shapes of the JSON API's answers (docs/api.md). */
export type Role = 'read' | 'write' | 'admin' | '';

export interface SessionInfo {
  user: { id: string; email: string; operator: boolean };
  csrfToken: string;
}

export interface Workspace {
  slug: string;
  name: string;
  organization: string;
  plan: string;
  storageQuotaBytes: number | null;
}

export interface Project {
  slug: string;
  name: string;
}

export interface Repository {
  id: string;
  projectSlug: string;
  slug: string;
  name: string;
  callerRole: Role;
}

export interface ImageSummary {
  name: string;
  repository: string;
  repositoryId: string;
  repositorySlug: string;
  repositoryName: string;
  projectSlug: string;
  tagCount: number;
  manifestCount: number;
  totalSize: number;
  lastPushedAt: string;
  lastDigest: string;
}

export interface Indexing {
  /** False: the indexer did not answer, so the listings may be behind by an unknown amount. */
  reachable: boolean;
  pendingEvents: number;
  oldestUnindexedAgeSeconds: number;
}

export interface Platform {
  os: string;
  architecture: string;
  variant: string;
}

export interface Manifest {
  digest: string;
  mediaType: string;
  kind: string;
  artifactType: string;
  size: number;
  platforms: Platform[];
  created: string;
  pushedAt: string;
  layers: Array<{ digest: string; mediaType: string; size: number }>;
  /** Signatures and attestations: the manifest they are about (for cosign's sha256-<hex>.sig/.att/.sbom tags, the one the tag names). */
  subject: string;
  tags: string[];
  children: Manifest[];
  /** A signature is about this manifest (an OCI 1.1 referrer or a cosign .sig tag). */
  signed: boolean;
}

export interface TagEntry {
  tag: string;
  digest: string;
  updatedAt: string;
  kind: string;
  manifest: Manifest | null;
  /** Signatures, attestations and SBOMs about the manifest (cosign's tags of it among them: they are not listed as tags). */
  referrers: Manifest[];
}

export interface ConfigFacts {
  created: string;
  os: string;
  architecture: string;
  variant: string;
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  user: string;
  exposedPorts: string[];
  labels: Record<string, string>;
  historySteps: number;
}

export interface ApiToken {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string;
}
