import type { IncomingMessage } from 'node:http';
import { RegistryError } from '@ocireg/errors';

/** "start-end" as chunked uploads send it (no "bytes=" prefix). */
export function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const match = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})$/.exec(header.trim());
  if (!match || Number(match[2]) < Number(match[1])) throw new RegistryError('RANGE_INVALID', `invalid Content-Range "${header.slice(0, 100)}"`, undefined, 416);
  return { start: Number(match[1]), end: Number(match[2]) };
}

/**
 * Where a chunk must start and how long it must be: its Content-Range, which
 * must agree with its Content-Length (416 otherwise, before a byte is read);
 * with a chunked body, the length is checked once the bytes are in.
 */
export function chunkRange(req: IncomingMessage): { offset?: number; length?: number } {
  const range = parseContentRange(req.headers['content-range']);
  if (!range) return {};
  const length = range.end - range.start + 1;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) !== length) {
    throw new RegistryError('RANGE_INVALID', `Content-Range ${range.start}-${range.end} is ${length} bytes, Content-Length says ${declared}`, undefined, 416);
  }
  return { offset: range.start, length };
}

/** A single "bytes=start-end" range within a blob, or undefined for the whole blob. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) throw new RegistryError('RANGE_INVALID', `unsupported Range "${header.slice(0, 100)}"`, undefined, 416);
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(size - Number(match[2]), 0); // suffix range: last N bytes
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) throw new RegistryError('RANGE_INVALID', `Range "${header.slice(0, 100)}" is outside the blob of ${size} bytes`, undefined, 416);
  return { start, end };
}
