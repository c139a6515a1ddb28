import { tooLarge, type AppendOptions, type UploadState } from './blob-store';
import type { PartBuffers } from './part-buffers';

/** Parts one upload sends at once by default: its memory is at most (in flight + 1) x part size. */
export const DEFAULT_PARTS_IN_FLIGHT = 3;
/**
 * Bytes per part by default, for every backend that uploads in parts: S3's
 * minimum, which keeps a 32 GiB layer within S3's 10,000 parts (6,554) and
 * an upload's buffers at 20 MiB: 8 MiB parts moved no faster on MinIO and
 * held the gateway's peak RSS during a 4 GiB push 17 MiB higher.
 */
export const DEFAULT_PART_SIZE = 5 * 1024 * 1024;

/** An upload stored as parts (S3 multipart parts, Azure blocks, GCS objects) and a tail of bytes short of a part. */
export interface PartedUploadState<Part> extends UploadState {
  /** The parts sent, in order. */
  parts: Part[];
  /** Bytes short of a part at the end of the last append, kept as a small object for the next append or the seal. */
  tail: { key: string; size: number } | null;
}

/** How one backend sends parts. */
export interface PartSender<Part> {
  /** Bytes per part. */
  partSize: number;
  /** Bytes at the end of an append that go out as a shorter part of their own; fewer wait as the tail. */
  minPartSize: number;
  /** Parts one append sends at once; its memory is at most (this + 1) x partSize. */
  partsInFlight: number;
  /** The backend's reusable part buffers (shared by its uploads). */
  buffers: PartBuffers;
  /** Sends `bytes` as the part of number `partNumber` (from 1, in the upload's order); resolves with what the seal needs of it. */
  send(bytes: Buffer, partNumber: number): Promise<Part>;
  /** Reads the tail object of an earlier append. */
  readTail(key: string): Promise<Buffer>;
  /** Writes a tail object. */
  putTail(key: string, bytes: Buffer): Promise<void>;
}

export interface PartedAppend<Part> {
  parts: Part[];
  tail: PartedUploadState<Part>['tail'];
  size: number;
  /** The tail this append replaced. */
  obsolete: string[];
}

/**
 * Streams `chunks` after the committed bytes of `upload` as parts of
 * `partSize`: a few go out at once while the next fills (backpressure: the
 * body is not read while every buffer waits), each byte copied once, into
 * the part it goes out in. The previous tail is read back into the first
 * part. Nothing here is committed: the caller returns the new state.
 */
export async function appendInParts<Part>(upload: PartedUploadState<Part>, chunks: AsyncIterable<Buffer>, options: AppendOptions, sender: PartSender<Part>): Promise<PartedAppend<Part>> {
  const { partSize, buffers } = sender;
  const first = upload.parts.length + 1;
  const added: Part[] = [];
  const sending = new Set<Promise<void>>();
  let failure: unknown;
  let nextPart = first;
  const send = async (bytes: Buffer, buffer: Buffer) => {
    while (sending.size >= sender.partsInFlight) await Promise.race(sending);
    if (failure) throw failure;
    options.signal?.throwIfAborted();
    const partNumber = nextPart++;
    const sent = sender
      .send(bytes, partNumber)
      .then((part) => {
        added[partNumber - first] = part;
        buffers.giveBack(buffer);
      })
      .catch((err: unknown) => void (failure ??= err))
      .finally(() => sending.delete(sent));
    sending.add(sent);
  };

  let part: Buffer | undefined = buffers.take();
  let filled = 0;
  if (upload.tail) {
    const tail = await sender.readTail(upload.tail.key);
    tail.copy(part);
    filled = tail.length;
  }
  let size = upload.size;
  try {
    for await (const chunk of chunks) {
      options.signal?.throwIfAborted();
      size += chunk.length;
      if (size > options.maxSize) throw tooLarge(options.maxSize);
      options.onChunk?.(chunk);
      for (let offset = 0; offset < chunk.length; ) {
        part ??= buffers.take();
        const copied = chunk.copy(part, filled, offset);
        filled += copied;
        offset += copied;
        if (filled === partSize) {
          await send(part, part);
          part = undefined; // the store's now; the next byte takes a buffer
          filled = 0;
        }
      }
    }
    if (part && filled >= sender.minPartSize) {
      await send(part.subarray(0, filled), part);
      part = undefined;
      filled = 0;
    }
    await Promise.all(sending);
    if (failure) throw failure;
  } catch (err) {
    await Promise.allSettled(sending);
    throw err;
  }

  // Bytes short of a part wait, as a small object, for the next append or the seal.
  const tail = filled > 0 ? { key: `${uploadPrefix(upload.key)}tail-${size}`, size: filled } : null;
  options.signal?.throwIfAborted();
  if (tail) await sender.putTail(tail.key, part!.subarray(0, filled));
  if (part) buffers.giveBack(part);
  const obsolete = upload.tail && upload.tail.key !== tail?.key ? [upload.tail.key] : [];
  return { parts: [...upload.parts, ...added], tail, size, obsolete };
}

/** Where an upload's small objects live (tails; parts, where parts are objects): uploads/<upload id>/, for an upload whose key is blobs/<upload id>. */
export function uploadPrefix(key: string): string {
  return `uploads/${key.slice(key.lastIndexOf('/') + 1)}/`;
}

/**
 * Seals by `complete`, or finds it sealed by an earlier attempt that failed
 * after the store had completed it (a retry): the object at `key` is there,
 * whole, and what `complete` needed is gone. `maybeSealed` says which
 * failures may mean that.
 */
export async function sealOnce(key: string, size: number, complete: () => Promise<void>, maybeSealed: (err: unknown) => boolean, stat: (key: string) => Promise<{ size: number } | undefined>): Promise<void> {
  try {
    await complete();
  } catch (err) {
    if (!maybeSealed(err) || (await stat(key))?.size !== size) throw err;
  }
}

/** Whether an upload of `maxBlobSize` bytes fits in `maxParts` parts of `partSize`: a config problem's message, or undefined. */
export function partCountProblem(maxBlobSize: number | undefined, partSize: number, maxParts: number, store: string): string | undefined {
  if (maxBlobSize === undefined || Math.ceil(maxBlobSize / partSize) <= maxParts) return undefined;
  return `MAX_BLOB_SIZE / UPLOAD_PART_SIZE must fit in ${maxParts.toLocaleString('en-US')} ${store}`;
}
