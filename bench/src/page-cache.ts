import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

const PIECE = 8 * 1024 * 1024;
/** How much more than a phase stores is written: the target's own files and logs grow too. */
const MARGIN = 1.5;
/** More than the host keeps backed for a guest's freed memory (about 1 GiB here) warms nothing. */
const MAX_SCRATCH = 2 * 1024 ** 3;

/**
 * Writes and deletes a scratch file of 1.5x `bytes` (at most 2 GiB) in
 * `dir`, on the targets' filesystem, so that each registry of a pair starts
 * a push phase with the same stock of backed memory for its page cache.
 *
 * The VMs these figures come from hand free memory back to their host
 * (virtio-balloon free page reporting; the host keeps about 1 GiB of a
 * guest's freed memory backed, see /sys/module/page_reporting/parameters).
 * Writing a GiB of new file data into memory that was handed back costs the
 * writer about 2 CPU-seconds, against 0.2 into memory a deleted file just
 * freed (`dd` of 1 GiB, three times in a row: 0.18, 1.96, 2.45 s of system
 * time). Without the scratch file, which registry met that memory depended
 * on what the phases before had freed: the same 4-stream push cost the
 * gateway 1.8 CPU-seconds per GiB alone and 2.7-3.8 after the 1-stream push.
 * A phase that writes more than the host keeps backed still pays for the
 * rest, on both sides alike.
 */
export function warmPageCache(dir: string, bytes: number): void {
  if (bytes <= 0) return;
  const file = path.join(dir, `page-cache-scratch-${process.pid}`);
  const size = scratchBytes(bytes);
  const piece = Buffer.alloc(PIECE, 1);
  const fd = openSync(file, 'w');
  try {
    for (let written = 0; written < size; written += PIECE) writeSync(fd, piece);
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}

/** The size of the scratch file written before a phase that stores `bytes`. */
export function scratchBytes(bytes: number): number {
  return Math.min(bytes * MARGIN, MAX_SCRATCH);
}
