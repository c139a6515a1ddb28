import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { parseDigest, parseRepositoryName } from '@ocireg/oci';
import type { blobupload, metadata } from '@ocireg/proto';
import { parseUploadState, type BlobStore } from '@ocireg/storage';
import type { AccessGuard, Actor } from '../access-guard';
import type { BlobStats } from './blob-stats';
import { hasBody, UNARY_DEADLINE_MS, type Exchange } from './exchange';
import { registryOrigin } from './registry-origin';
import type { PackageCheck } from './packages';
import { isRepositoryName } from './pagination';
import { chunkRange } from './ranges';
import { requestChunks } from './request-chunks';
import { completeAndLink, takeAppendLease } from './upload-commit';
import type { RunningHashes } from './running-hashes';

export interface UploadRoutesDeps {
  guard: AccessGuard;
  uploads: blobupload.BlobUploadServiceClient;
  metadata: metadata.RegistryMetadataServiceClient;
  store: BlobStore;
  packages: PackageCheck;
  stats: BlobStats;
  hashes: RunningHashes;
  /** A body that sends nothing this long is cut. */
  idleTimeoutMs: number;
}

/**
 * The blob upload routes (POST, PATCH, PUT, GET, DELETE of
 * /v2/<name>/blobs/uploads/...). Their bytes take the data plane: from the
 * client's request straight into storage, hashed once on the way, never
 * through gRPC. blob-upload keeps the session (its storage state, owner,
 * limits, one writer at a time) and makes the bytes a verified blob.
 */
export class UploadRoutes {
  constructor(private readonly deps: UploadRoutesDeps) {}

  async start(exchange: Exchange, name: string): Promise<void> {
    const { req, res, url, requestId } = exchange;
    const mount = url.searchParams.get('mount');
    const from = url.searchParams.get('from');
    // A mount's challenge also asks for pull on its source, so a client that follows it can mount (as Distribution does).
    const mountSource = mount !== null && from && from !== name && isRepositoryName(from) ? [`repository:${from}:pull`] : [];
    const actor = await this.deps.guard.authorize(req, name, ['push'], mountSource);
    const owner = actor.userId;
    const digest = url.searchParams.get('digest');
    if (digest !== null) parseDigest(digest);
    await this.deps.packages.require(name, owner, requestId);
    if (mount !== null && (await this.tryMount(exchange, name, mount, from, actor))) return;
    const { uploadId } = await unaryCall(this.deps.uploads.startUpload.bind(this.deps.uploads), { name: name, owner }, { requestId, deadlineMs: UNARY_DEADLINE_MS });

    if (digest !== null) {
      // Monolithic upload: POST ?digest= with the whole blob as the body.
      if (hasBody(req)) await this.append(exchange, name, uploadId, owner, {});
      return this.finish(exchange, name, uploadId, actor, digest);
    }
    res.writeHead(202, { Location: location(name, uploadId), 'Docker-Upload-UUID': uploadId, Range: '0-0', 'Content-Length': 0 });
    res.end();
  }

  async patch(exchange: Exchange, name: string, uploadId: string): Promise<void> {
    const { userId: owner } = await this.deps.guard.authorize(exchange.req, name, ['push']);
    const size = await this.append(exchange, name, uploadId, owner, chunkRange(exchange.req));
    exchange.res.writeHead(202, { Location: location(name, uploadId), 'Docker-Upload-UUID': uploadId, Range: `0-${Math.max(size - 1, 0)}`, 'Content-Length': 0 });
    exchange.res.end();
  }

  async put(exchange: Exchange, name: string, uploadId: string): Promise<void> {
    const actor = await this.deps.guard.authorize(exchange.req, name, ['push']);
    const digest = exchange.url.searchParams.get('digest');
    if (!digest) throw new RegistryError('DIGEST_INVALID', 'PUT to an upload needs ?digest=');
    parseDigest(digest);
    if (hasBody(exchange.req)) await this.append(exchange, name, uploadId, actor.userId, chunkRange(exchange.req));
    return this.finish(exchange, name, uploadId, actor, digest);
  }

  async status({ req, res, requestId }: Exchange, name: string, uploadId: string): Promise<void> {
    const { userId: owner } = await this.deps.guard.authorize(req, name, ['push']);
    const { size } = await unaryCall(this.deps.uploads.getUpload.bind(this.deps.uploads), { uploadId, name: name, owner }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    res.writeHead(204, { Location: location(name, uploadId), 'Docker-Upload-UUID': uploadId, Range: `0-${Math.max(size - 1, 0)}` });
    res.end();
  }

  async cancel({ req, res, requestId }: Exchange, name: string, uploadId: string): Promise<void> {
    const { userId: owner } = await this.deps.guard.authorize(req, name, ['push']);
    await unaryCall(this.deps.uploads.cancelUpload.bind(this.deps.uploads), { uploadId, name: name, owner }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    this.deps.hashes.forget(uploadId);
    res.writeHead(204).end();
  }

  /**
   * The data plane: takes the session's lease, streams the request body into
   * storage (hashing each byte once, within the session's size and time
   * limits, cut when idle, stopped when the lease cannot be kept), and
   * commits the new state; returns the size.
   */
  private async append(exchange: Exchange, name: string, uploadId: string, owner: string, range: { offset?: number; length?: number }): Promise<number> {
    const { req, requestId, logger } = exchange;
    const { uploads, store, hashes } = this.deps;
    const { plan, lease } = await this.takeLease(exchange, name, uploadId, owner, range.offset);
    const release = () => unaryCall(uploads.releaseAppend.bind(uploads), { uploadId, leaseId: plan.leaseId }, { requestId }).catch((err: unknown) => logger.warn({ err, uploadId }, 'could not release an upload lease'));
    const hash = hashes.take(uploadId, plan.size);
    const { signal } = lease;
    try {
      const state = parseUploadState(plan.stateJson);
      if (!state) throw new Error(`blob-upload sent no upload state for ${uploadId}`);
      const appended = await store.appendUpload(state, requestChunks(req, { idleMs: this.deps.idleTimeoutMs, deadlineMs: plan.deadlineMs, timedOut, signal }), {
        maxSize: plan.maxSize,
        onChunk: hash ? (chunk) => hash.update(chunk) : undefined,
        signal,
      });
      if (range.length !== undefined && appended.state.size - plan.size !== range.length) {
        throw new RegistryError('RANGE_INVALID', `the Content-Range announced ${range.length} bytes, the body had ${appended.state.size - plan.size}`, undefined, 416);
      }
      // Renewed until the commit answers: blob-upload commits only while the lease is held.
      const { size } = await unaryCall(uploads.commitAppend.bind(uploads), { uploadId, leaseId: plan.leaseId, stateJson: JSON.stringify(appended.state) }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
      lease.stop();
      for (const key of appended.obsolete) await store.delete(key).catch(() => undefined);
      hashes.keep(uploadId, hash, size);
      return size;
    } catch (err) {
      lease.stop();
      if (signal.aborted) logger.warn({ uploadId, reason: (signal.reason as Error).message }, 'upload append stopped: its write lease could not be kept');
      await release();
      // Past the size or time limit the session is over: cancelling frees its storage now.
      if (err instanceof RegistryError && (err.code === 'SIZE_INVALID' || err.message.includes('timed out'))) {
        await unaryCall(uploads.cancelUpload.bind(uploads), { uploadId, name: name, owner }, { requestId }).catch(() => undefined);
      }
      throw err;
    }
  }

  /** The session's write lease, kept renewed until the append is over (upload-commit.ts). */
  private takeLease({ requestId }: Exchange, name: string, uploadId: string, owner: string, expectedOffset: number | undefined) {
    return takeAppendLease(this.deps.uploads, { uploadId, name, owner, expectedOffset }, requestId);
  }

  /** Verifies and records the uploaded bytes as a blob of this repository. */
  private async finish({ req, res, requestId }: Exchange, name: string, uploadId: string, actor: Actor, digest: string): Promise<void> {
    // This gateway's digest of the bytes it streamed, with how many it saw: blob-upload trusts it only if that is all of them.
    const running = this.deps.hashes.finish(uploadId);
    await completeAndLink(
      this.deps,
      { uploadId, name, owner: actor.userId, digest, computedDigest: running?.digest ?? '', computedDigestSize: running?.size ?? 0, pullThrough: false },
      { requestId, origin: registryOrigin(this.deps.guard, req, actor) },
    );
    this.deps.stats.forget(name, digest);
    res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 });
    res.end();
  }

  /**
   * Cross-repository mount: links the blob when the caller may pull it from
   * `from`. Anything else (no `from`, unknown blob, no access) falls back to a
   * regular upload session, as the spec allows.
   */
  private async tryMount({ req, res, requestId }: Exchange, name: string, mount: string, from: string | null, actor: Actor): Promise<boolean> {
    parseDigest(mount);
    if (!from || from === name) return false;
    try {
      parseRepositoryName(from);
      await this.deps.guard.authorize(req, from, ['pull']);
      await unaryCall(this.deps.metadata.mountBlob.bind(this.deps.metadata), { fromName: from, toName: name, digest: mount, userId: actor.userId }, { requestId, origin: registryOrigin(this.deps.guard, req, actor), deadlineMs: UNARY_DEADLINE_MS });
    } catch (err) {
      if (err instanceof RegistryError && err.httpStatus < 500) return false;
      throw err;
    }
    res.writeHead(201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount, 'Content-Length': 0 });
    res.end();
    return true;
  }
}

function location(name: string, uploadId: string): string {
  return `/v2/${name}/blobs/uploads/${uploadId}`;
}

function timedOut(): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'upload timed out: the session passed its time limit');
}
