import path from 'node:path';

export * as admin from './gen/ocireg/admin/v1/admin';
export * as audit from './gen/ocireg/admin/v1/audit';
export * as auth from './gen/ocireg/auth/v1/auth';
export * as blobupload from './gen/ocireg/blobupload/v1/blob_upload';
export * as immutableTags from './gen/ocireg/admin/v1/immutable_tags';
export * as indexer from './gen/ocireg/indexer/v1/indexer';
export * as metadata from './gen/ocireg/metadata/v1/metadata';
// Push-based replication (issue 27).
export * as replication from './gen/ocireg/admin/v1/replication';
export * as upstreams from './gen/ocireg/admin/v1/upstreams';
// Retention rules (issue 24).
export * as retention from './gen/ocireg/admin/v1/retention';
export * as users from './gen/ocireg/admin/v1/users';
export * as webhooks from './gen/ocireg/admin/v1/webhooks';

/** The .proto sources, for server reflection. */
export const PROTO_DIR = path.resolve(__dirname, '../../../proto');
export const PROTO_FILES = {
  admin: 'ocireg/admin/v1/admin.proto',
  audit: 'ocireg/admin/v1/audit.proto',
  webhooks: 'ocireg/admin/v1/webhooks.proto',
  auth: 'ocireg/auth/v1/auth.proto',
  blobupload: 'ocireg/blobupload/v1/blob_upload.proto',
  immutableTags: 'ocireg/admin/v1/immutable_tags.proto',
  indexer: 'ocireg/indexer/v1/indexer.proto',
  metadata: 'ocireg/metadata/v1/metadata.proto',
  upstreams: 'ocireg/admin/v1/upstreams.proto',
  replication: 'ocireg/admin/v1/replication.proto',
  retention: 'ocireg/admin/v1/retention.proto',
  users: 'ocireg/admin/v1/users.proto',
} as const;
