import { RegistryError } from '@ocireg/errors';
import type { AsyncService } from '@ocireg/grpc';
import type { blobupload } from '@ocireg/proto';
import { parseUploadState, type UploadState } from '@ocireg/storage';
import type { UploadService } from './upload-service';

type Server = AsyncService<blobupload.BlobUploadServiceServer>;

/** Adapts UploadService to the BlobUploadService contract. */
export function blobUploadHandlers(uploads: UploadService): Server {
  return {
    async startUpload(request) {
      const session = await uploads.start(request.name, request.owner);
      return { uploadId: session.id };
    },
    async beginAppend(request) {
      const plan = await uploads.beginAppend(request.uploadId, request.name, request.owner, request.expectedOffset);
      return { leaseId: plan.leaseId, stateJson: JSON.stringify(plan.state), size: plan.size, maxSize: plan.maxSize, deadlineMs: plan.deadlineMs, leaseMs: plan.leaseMs };
    },
    async renewAppend(request) {
      return uploads.renewAppend(request.uploadId, request.leaseId);
    },
    async commitAppend(request) {
      return { size: await uploads.commitAppend(request.uploadId, request.leaseId, parseState(request.stateJson)) };
    },
    async releaseAppend(request) {
      await uploads.releaseAppend(request.uploadId, request.leaseId);
      return {};
    },
    async getUpload(request) {
      return { size: await uploads.status(request.uploadId, request.name, request.owner) };
    },
    async completeUpload(request) {
      const computed = request.computedDigest ? { digest: request.computedDigest, size: request.computedDigestSize } : undefined;
      return uploads.complete(request.uploadId, request.name, request.owner, request.digest, computed);
    },
    async cancelUpload(request) {
      await uploads.cancel(request.uploadId, request.name, request.owner);
      return {};
    },
  };
}

/** The committed state; whether it continues the session's (same backend and key) is UploadService's to check. */
function parseState(json: string): UploadState {
  const state = parseUploadState(json);
  if (!state) throw new RegistryError('BLOB_UPLOAD_INVALID', 'state_json is not an upload state');
  return state;
}
