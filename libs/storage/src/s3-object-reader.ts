import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';

/** Each socket read lands in this much memory: few reads, few chunks, per GiB. */
const READ_BUFFER = 1024 * 1024;
/** A response head larger than this is not an object's. */
const MAX_HEAD = 64 * 1024;
/** Longest wait for the response head. */
const IDLE_MS = 60_000;

/**
 * Streams an object with one plain HTTP/1.1 GET of a presigned URL, on a
 * connection of its own whose reads go straight into a 1 MiB buffer.
 * node:http's client reads 64 KiB at a time through its parser and a chain
 * of streams; on loopback from MinIO it took about 10x the CPU per GiB
 * (1.2 s against 0.12 s of CPU for 512 MiB) and a third of the speed.
 *
 * Returns undefined whenever the answer is not a plain body of known length
 * (an error status, a missing object, chunked encoding, a refused
 * connection): the caller then reads through the S3 client, which maps the
 * error. Only http: URLs (a store reached over TLS goes through the client).
 */
export async function readObjectDirect(url: URL, range?: { start: number; end?: number }): Promise<Readable | undefined> {
  if (url.protocol !== 'http:') return undefined;
  const request = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', 'Accept-Encoding: identity'];
  if (range) request.push(`Range: bytes=${range.start}-${range.end ?? ''}`);
  return new Promise((resolve) => {
    let head: Buffer = Buffer.alloc(0);
    let body: Readable | undefined;
    let left = 0;
    const socket: Socket = connect({
      host: url.hostname,
      port: Number(url.port || 80),
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback: (length, buffer) => {
          // The buffer is reused for the next read: what is kept is copied out.
          const bytes = Buffer.from(buffer.subarray(0, length));
          if (body) return deliver(bytes);
          head = Buffer.concat([head, bytes]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) {
            if (head.length > MAX_HEAD) give(undefined);
            return true;
          }
          const contentLength = parseHead(head.subarray(0, end).toString('latin1'), range !== undefined);
          if (contentLength === undefined) {
            give(undefined);
            return false;
          }
          left = contentLength;
          // Waiting for the head may time out; a body paused by a slow reader may not.
          socket.setTimeout(0);
          body = new Readable({
            highWaterMark: READ_BUFFER,
            read: () => void socket.resume(),
            destroy: (err, callback) => {
              socket.destroy();
              callback(err);
            },
          });
          give(body);
          return deliver(head.subarray(end + 4));
        },
      },
    });
    const give = (stream: Readable | undefined) => {
      if (!stream) socket.destroy();
      resolve(stream);
    };
    /** Hands body bytes on; false pauses the socket until the reader wants more. */
    const deliver = (bytes: Buffer): boolean => {
      if (!body || body.destroyed) return false;
      const wanted = bytes.subarray(0, left);
      left -= wanted.length;
      const more = wanted.length === 0 || body.push(wanted);
      if (left === 0) {
        body.push(null);
        socket.destroy();
        return false;
      }
      return more;
    };
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_MS, () => socket.destroy(new Error(`no answer to an object read in ${IDLE_MS / 1000} s`)));
    socket.once('connect', () => socket.write(`${request.join('\r\n')}\r\n\r\n`));
    socket.once('error', (err) => (body ? body.destroy(err) : give(undefined)));
    socket.once('close', () => {
      if (!body) return give(undefined);
      if (left > 0 && !body.destroyed) body.destroy(new Error(`object read ended ${left} bytes early`));
    });
  });
}

/** The body's length from a response head, or undefined unless it is a plain 200 (206 for a range) with Content-Length. */
function parseHead(head: string, ranged: boolean): number | undefined {
  const [statusLine, ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(statusLine ?? '')?.[1]);
  if (status !== 200 && !(ranged && status === 206)) return undefined;
  let length: number | undefined;
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'transfer-encoding') return undefined;
    if (name === 'content-length') length = /^\d+$/.test(value) ? Number(value) : undefined;
  }
  return length;
}
