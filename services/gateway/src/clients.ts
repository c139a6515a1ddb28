import { createGrpcClient } from '@ocireg/grpc';
import { admin, audit, auth, blobupload, immutableTags, indexer, metadata, replication, retention, upstreams, users, webhooks } from '@ocireg/proto';
import type { TlsMaterial } from '@ocireg/service-identity';
import type { GatewayConfig } from './config';

/** The gateway's gRPC clients, one channel per service, each proving the gateway's identity (mutual TLS). */
export interface ServiceClients {
  auth: auth.AuthServiceClient;
  metadata: metadata.RegistryMetadataServiceClient;
  uploads: blobupload.BlobUploadServiceClient;
  indexer: indexer.IndexerServiceClient;
  /** The admin API's implementations, which the admin port forwards to. */
  admin: admin.AdminServiceClient;
  users: users.UserServiceClient;
  upstreams: upstreams.UpstreamServiceClient;
  replication: replication.ReplicationServiceClient;
  retention: retention.RetentionServiceClient;
  /** Immutable tag rules (issue 24), metadata's. */
  immutableTags: immutableTags.ImmutableTagServiceClient;
  audit: audit.AuditServiceClient;
  webhooks: webhooks.WebhookServiceClient;
}

export function createServiceClients(config: GatewayConfig, tls: TlsMaterial): ServiceClients {
  return {
    auth: createGrpcClient(auth.AuthServiceClient, config.AUTH_ADDR, { kind: 'internal', tls, service: 'auth' }),
    metadata: createGrpcClient(metadata.RegistryMetadataServiceClient, config.METADATA_ADDR, { kind: 'internal', tls, service: 'metadata' }),
    uploads: createGrpcClient(blobupload.BlobUploadServiceClient, config.BLOB_UPLOAD_ADDR, { kind: 'internal', tls, service: 'blob-upload' }),
    indexer: createGrpcClient(indexer.IndexerServiceClient, config.INDEXER_ADDR, { kind: 'internal', tls, service: 'indexer' }),
    admin: createGrpcClient(admin.AdminServiceClient, config.METADATA_ADDR, { kind: 'internal', tls, service: 'metadata' }),
    users: createGrpcClient(users.UserServiceClient, config.AUTH_ADDR, { kind: 'internal', tls, service: 'auth' }),
    upstreams: createGrpcClient(upstreams.UpstreamServiceClient, config.METADATA_ADDR, { kind: 'internal', tls, service: 'metadata' }),
    replication: createGrpcClient(replication.ReplicationServiceClient, config.METADATA_ADDR, { kind: 'internal', tls, service: 'metadata' }),
    retention: createGrpcClient(retention.RetentionServiceClient, config.METADATA_ADDR, { kind: 'internal', tls, service: 'metadata' }),
    immutableTags: createGrpcClient(immutableTags.ImmutableTagServiceClient, config.METADATA_ADDR, { kind: 'internal', tls, service: 'metadata' }),
    audit: createGrpcClient(audit.AuditServiceClient, config.METADATA_ADDR, { kind: 'internal', tls, service: 'metadata' }),
    webhooks: createGrpcClient(webhooks.WebhookServiceClient, config.WEBHOOKS_ADDR, { kind: 'internal', tls, service: 'webhooks' }),
  };
}

export function closeServiceClients(clients: ServiceClients): void {
  for (const client of Object.values(clients)) client.close();
}
