import { createGrpcClient } from '@ocireg/grpc';
import { auth, blobupload, indexer, metadata } from '@ocireg/proto';
import type { GatewayConfig } from './config';

/** The gateway's gRPC clients, one channel per service. */
export interface ServiceClients {
  auth: auth.AuthServiceClient;
  metadata: metadata.RegistryMetadataServiceClient;
  uploads: blobupload.BlobUploadServiceClient;
  indexer: indexer.IndexerServiceClient;
}

export function createServiceClients(config: GatewayConfig): ServiceClients {
  return {
    auth: createGrpcClient(auth.AuthServiceClient, config.AUTH_ADDR),
    metadata: createGrpcClient(metadata.RegistryMetadataServiceClient, config.METADATA_ADDR),
    uploads: createGrpcClient(blobupload.BlobUploadServiceClient, config.BLOB_UPLOAD_ADDR),
    indexer: createGrpcClient(indexer.IndexerServiceClient, config.INDEXER_ADDR),
  };
}

export function closeServiceClients(clients: ServiceClients): void {
  for (const client of Object.values(clients)) client.close();
}
