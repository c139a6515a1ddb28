import { unaryCall, type RequestOrigin } from '@ocireg/grpc';
import type { blobupload, metadata } from '@ocireg/proto';
import type { BlobStore } from '@ocireg/storage';
import { AppendLease } from './append-lease';
import { UNARY_DEADLINE_MS } from './exchange';

/** The calls an upload's data plane makes (uploads.ts for pushes, proxy/cache-writer.ts for pull-through fills). */
export interface UploadCalls {
  uploads: blobupload.BlobUploadServiceClient;
  metadata: metadata.RegistryMetadataServiceClient;
  store: BlobStore;
}

/**
 * Takes an upload session's write lease (BeginAppend; another writer holding
 * it is a 429 with Retry-After) and keeps it renewed (RenewAppend) until the
 * caller stops it.
 */
export async function takeAppendLease(
  uploads: blobupload.BlobUploadServiceClient,
  session: { uploadId: string; name: string; owner: string; expectedOffset: number | undefined },
  requestId: string,
): Promise<{ plan: blobupload.BeginAppendResponse; lease: AppendLease }> {
  const { uploadId } = session;
  const askedAt = Date.now();
  const plan = await unaryCall(uploads.beginAppend.bind(uploads), session, { requestId, deadlineMs: UNARY_DEADLINE_MS });
  const lease = new AppendLease({
    uploadId,
    askedAt,
    // A blob-upload that does not say (before renewable leases) held the lease until the time limit.
    leaseMs: plan.leaseMs || plan.deadlineMs - askedAt,
    deadlineMs: plan.deadlineMs,
    renew: async (timeoutMs) => {
      const renewed = await unaryCall(uploads.renewAppend.bind(uploads), { uploadId, leaseId: plan.leaseId }, { requestId, deadlineMs: timeoutMs });
      return renewed.held ? renewed.leaseMs : undefined;
    },
  });
  return { plan, lease };
}

/**
 * Makes an upload's bytes a verified blob of the name: blob-upload checks the
 * digest (trusting the gateway's running one only if it saw every byte),
 * metadata links it (a first push's package, the quota; `pullThrough` for a
 * cache fill), and the storage keeps one copy.
 */
export async function completeAndLink(
  { uploads, metadata, store }: UploadCalls,
  upload: { uploadId: string; name: string; owner: string; digest: string; computedDigest: string; computedDigestSize: number; pullThrough: boolean },
  { requestId, origin }: { requestId: string; origin: RequestOrigin },
): Promise<void> {
  const { uploadId, name, owner, digest, computedDigest, computedDigestSize, pullThrough } = upload;
  const completed = await unaryCall(uploads.completeUpload.bind(uploads), { uploadId, name, owner, digest, computedDigest, computedDigestSize }, { requestId, deadlineMs: 5 * 60_000 });
  let linked;
  try {
    linked = await unaryCall(
      metadata.linkBlob.bind(metadata),
      { name, blob: { digest: completed.digest, size: completed.size, storageKey: completed.storageKey }, userId: owner, pullThrough },
      { requestId, origin, deadlineMs: UNARY_DEADLINE_MS },
    );
  } catch (err) {
    // Refused (a quota): the upload's bytes go; a content-addressed blob may be another upload's (the orphan sweep decides).
    await store.delete(store.contentAddressed ? completed.sealedKey : completed.storageKey).catch(() => undefined);
    throw err;
  }
  // The same bytes were stored before under another key: keep one copy.
  if (linked.alreadyExisted && linked.blob?.storageKey !== completed.storageKey) await store.delete(completed.storageKey);
  await store.confirmPlaced(completed.sealedKey, completed.digest);
}
