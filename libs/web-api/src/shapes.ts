import { z } from 'zod';

/**
 * What the JSON API's answers are made of. Exact objects: an answer carries
 * these fields and no others (wire names as registryctl's; docs/glossary.md says
 * which word means which: `fullName` a package's OCI name, `sourceRepository*` the product's repositories).
 */
export const exact = <S extends z.ZodRawShape>(shape: S) => z.object(shape).strict();

/** An answer with nothing to say: `{}`. */
export const nothing = z.record(z.string(), z.never());

/** A role on a source repository or package, as registryctl and docs/security.md name them ("" for none). */
export const roleWord = z.enum(['read', 'write', 'admin', '']);

export const user = exact({ id: z.string(), email: z.string(), operator: z.boolean() });

export const workspace = exact({
  slug: z.string(),
  name: z.string(),
  organization: z.string(),
  publicPull: z.boolean(),
  createPackagesOnPush: z.boolean(),
  defaultSourceRepositoryId: z.string(),
  createdAt: z.string(),
  plan: z.string(),
  /** null: no quota. */
  storageQuotaBytes: z.number().nullable(),
});

export const project = exact({ slug: z.string(), name: z.string(), workspaceSlug: z.string() });

/** A source repository (what packages link to), with the caller's role on it. */
export const sourceRepository = exact({ id: z.string(), workspaceSlug: z.string(), projectSlug: z.string(), slug: z.string(), name: z.string(), callerRole: roleWord });

/** A package with content, as the indexer lists it. */
export const imageSummary = exact({
  name: z.string(),
  /** The source repository's id. */
  sourceRepositoryId: z.string(),
  tagCount: z.number(),
  manifestCount: z.number(),
  lastPushedAt: z.string(),
  /** The package's full name ("<workspace>/<package>"). */
  fullName: z.string(),
  projectSlug: z.string(),
  /** Bytes of every distinct blob its manifests reference. */
  totalSize: z.number(),
  lastDigest: z.string(),
});

/** How far the listings are behind; `reachable: false` when the indexer did not answer (then nothing is known of its backlog). */
export const indexingStatus = exact({ reachable: z.boolean(), pendingEvents: z.number(), oldestUnindexedAgeSeconds: z.number() });

export const componentState = z.enum(['up', 'unreachable']);

export const platform = exact({ os: z.string(), architecture: z.string(), variant: z.string() });

const manifestFacts = exact({
  digest: z.string(),
  mediaType: z.string(),
  /** image, index, attestation, signature or artifact. */
  kind: z.string(),
  artifactType: z.string(),
  /** Compressed size: config and layers (an index: its entries'). */
  size: z.number(),
  platforms: z.array(platform),
  /** An image: the created time its config names (RFC 3339), or empty. */
  created: z.string(),
  pushedAt: z.string(),
  layers: z.array(exact({ digest: z.string(), mediaType: z.string(), size: z.number() })),
  /** Signatures and attestations: the manifest they are about (for cosign's sha256-<hex>.sig/.att/.sbom tags, the one the tag names). */
  subject: z.string(),
  tags: z.array(z.string()),
  /** A signature is about this manifest (an OCI 1.1 referrer or a cosign .sig tag). */
  signed: z.boolean(),
  /** Last-pulled times (issue 24): when it was last pulled (RFC 3339), '' if never (as of the gateways' last flush). */
  lastPulledAt: z.string(),
});
/** A manifest as the listings show it; an index has its entries as children. */
export type Manifest = z.infer<typeof manifestFacts> & { children: Manifest[] };
export const manifest: z.ZodType<Manifest> = manifestFacts.extend({ children: z.lazy(() => z.array(manifest)) });

export const tagDetails = exact({
  tag: z.string(),
  digest: z.string(),
  updatedAt: z.string(),
  kind: z.string(),
  /** Last-pulled times (issue 24): when the tag was last pulled (RFC 3339), '' if never (as of the gateways' last flush). */
  lastPulledAt: z.string(),
});

/** What the tag page shows of an image's config (environment variables are left out: they often hold secrets). */
export const configFacts = exact({
  created: z.string(),
  os: z.string(),
  architecture: z.string(),
  variant: z.string(),
  entrypoint: z.array(z.string()),
  cmd: z.array(z.string()),
  workingDir: z.string(),
  user: z.string(),
  exposedPorts: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  /** Steps in the image's history (build instructions). */
  historySteps: z.number(),
});

export const apiToken = exact({ id: z.string(), name: z.string(), scopes: z.array(z.string()), createdAt: z.string(), expiresAt: z.string(), revokedAt: z.string() });

export const member = exact({ userId: z.string(), email: z.string(), role: roleWord });

/** A JSON object of a few fields, as an audit entry's before/after summary holds. */
const summary = z.record(z.string(), z.unknown()).nullable();

/** One audit log entry (docs/audit.md): who, from where, what, before and after. */
export const auditEntry = exact({
  id: z.string(),
  /** The service that recorded it: metadata, auth or webhooks. */
  chain: z.string(),
  seq: z.number(),
  at: z.string(),
  actor: exact({ userId: z.string(), email: z.string(), tokenId: z.string(), sessionId: z.string(), service: z.string() }),
  /** registry, admin-api, json-api, or "" (a service acting on its own). */
  channel: z.string(),
  clientAddress: z.string(),
  userAgent: z.string(),
  requestId: z.string(),
  action: z.string(),
  outcome: z.enum(['success', 'failure']),
  workspace: z.string(),
  target: exact({ type: z.string(), id: z.string(), name: z.string() }),
  before: summary,
  after: summary,
  hash: z.string(),
});
