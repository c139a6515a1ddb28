import { GATEWAY_ENV, GATEWAY_NODE_FLAGS } from './gateway-runtime';

/**
 * The registry's processes, in the order the chart renders them. Each is one
 * service (services/<name>), one image (ocireg-<name>) and one identity (the
 * subject CN of its certificate from the internal CA).
 */
export const SERVICE_NAMES = ['gateway', 'auth', 'metadata', 'blob-upload', 'indexer', 'webhooks'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** What the processes use besides each other (the chart's networkPolicy.dependencies, its trial StatefulSets). */
export const DEPENDENCIES = ['postgres', 'redis', 'kafka', 's3'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

/**
 * Which services may call each method of one gRPC service (keys are the
 * ts-proto definition's method names, e.g. "resolveRole"); "*" applies to
 * the methods not listed. A service no entry names may call nothing.
 */
export type CallerTable = Readonly<Record<string, readonly ServiceName[]>>;

export interface ServiceSpec {
  /** Default ports: the one it serves on (gRPC; HTTP for the gateway) and its Prometheus /metrics. */
  readonly ports: { readonly serve: number; readonly metrics: number };
  /**
   * The gRPC services it serves internally (mutual TLS), by full proto name,
   * each with who may call which method. The call graph follows from these:
   * a service calls another when one of the other's methods allows it.
   * Absent: it serves no internal gRPC (the gateway serves HTTP and the admin port).
   */
  readonly grpc?: Readonly<Record<string, CallerTable>>;
  /** The dependencies it talks to, in the order its NetworkPolicy lists them. */
  readonly uses: readonly Dependency[];
  /** It reaches targets outside the cluster (webhook deliveries): the chart's networkPolicy.webhookTargets egress. */
  readonly outbound?: boolean;
  /** What `node` runs it with, besides its main script (the images, the launcher). */
  readonly node?: { readonly flags: readonly string[]; readonly env: Readonly<Record<string, string>> };
}

export const SERVICES = {
  gateway: {
    ports: { serve: 5000, metrics: 9100 },
    uses: ['s3', 'redis'],
    node: { flags: GATEWAY_NODE_FLAGS, env: GATEWAY_ENV },
  },
  auth: {
    ports: { serve: 50051, metrics: 9101 },
    grpc: {
      'ocireg.auth.v1.AuthService': { '*': ['gateway'] },
      // Forwarded by the gateway's admin port, each call with the user's assertion.
      'ocireg.admin.v1.UserService': { '*': ['gateway'] },
    },
    uses: ['postgres', 'redis'],
  },
  metadata: {
    ports: { serve: 50052, metrics: 9102 },
    grpc: {
      // The gateway does the registry's work; auth asks for roles (and, for invitations, workspace
      // admins; for repository tokens, repository Admins); the indexer's rebuild command reads the listing snapshot.
      'ocireg.metadata.v1.RegistryMetadataService': {
        '*': ['gateway'],
        resolveRole: ['gateway', 'auth'],
        checkWorkspaceAdmin: ['auth', 'webhooks'],
        listUserWorkspaces: ['auth'],
        getSourceRepositoryRole: ['auth'],
        resolveSourceRepositoryPaths: ['auth'],
        applyIdentityProviderRoles: ['auth'],
        exportListingSnapshot: ['indexer'],
        // Last-pulled times (issue 24): the gateway's batches of pulls, and the times its listings show.
        recordPulls: ['gateway'],
        listPullTimes: ['gateway'],
        // Replication (issue 27): the gateway's worker leases jobs (with targets' passwords) and reports them.
        claimReplicationJobs: ['gateway'],
        completeReplicationJob: ['gateway'],
      },
      // Forwarded by the gateway's admin port, each call with the user's assertion.
      'ocireg.admin.v1.AdminService': { '*': ['gateway'] },
      'ocireg.admin.v1.UpstreamService': { '*': ['gateway'] },
      'ocireg.admin.v1.ReplicationService': { '*': ['gateway'] },
      'ocireg.admin.v1.RetentionService': { '*': ['gateway'] },
      'ocireg.admin.v1.ImmutableTagService': { '*': ['gateway'] },
      'ocireg.admin.v1.AuditService': { '*': ['gateway'] },
    },
    // Kafka: the outbox relay; S3: garbage collection frees blobs.
    uses: ['postgres', 'redis', 'kafka', 's3'],
  },
  'blob-upload': {
    ports: { serve: 50053, metrics: 9103 },
    grpc: { 'ocireg.blobupload.v1.BlobUploadService': { '*': ['gateway'] } },
    uses: ['s3', 'redis'],
  },
  indexer: {
    ports: { serve: 50054, metrics: 9104 },
    grpc: { 'ocireg.indexer.v1.IndexerService': { '*': ['gateway'] } },
    uses: ['kafka', 'postgres'],
  },
  // Consumes the event stream (its own group) and POSTs to users' hooks: the only process that
  // reaches addresses outside the cluster (networkPolicy.webhookTargets); asks metadata who
  // administers a workspace.
  webhooks: {
    ports: { serve: 50055, metrics: 9105 },
    grpc: { 'ocireg.admin.v1.WebhookService': { '*': ['gateway'] } },
    uses: ['kafka', 'postgres'],
    outbound: true,
  },
} as const satisfies Record<ServiceName, ServiceSpec>;

/** The services that serve internal gRPC (all but the gateway). */
export type InternalServiceName = { [K in ServiceName]: (typeof SERVICES)[K] extends { grpc: object } ? K : never }[ServiceName];

/** One service's row, typed as any row (SERVICES keeps each row's literal type). */
export function serviceSpec(name: ServiceName): ServiceSpec {
  return SERVICES[name];
}
