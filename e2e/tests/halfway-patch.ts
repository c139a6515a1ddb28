import { request } from 'node:http';

/**
 * A PATCH of an upload that sends `first` and then waits: the test acts while
 * the request is half way (or `write`s more), then `finish` sends `rest`.
 * With `range`, the request says where its bytes go (`Content-Range`:
 * `offset`, and `length` bytes in all). Resolves with the status, or the
 * error when the connection broke.
 */
export function halfwayPatch(location: URL | string, headers: Record<string, string>, first: Buffer, rest: Buffer, range?: { offset: number; length?: number }) {
  const url = new URL(location);
  const contentRange = range ? { 'Content-Range': `${range.offset}-${range.offset + (range.length ?? first.length + rest.length) - 1}` } : {};
  const sent = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'PATCH', headers: { ...headers, 'Content-Type': 'application/octet-stream', ...contentRange } });
  const outcome = new Promise<number | Error>((resolve) => {
    sent.on('response', (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    sent.on('error', resolve);
  });
  sent.write(first);
  return {
    outcome,
    /** Sends more of the body; resolves once it is on its way. */
    write(bytes: Buffer) {
      return new Promise<void>((resolve, reject) => sent.write(bytes, (err) => (err ? reject(err) : resolve())));
    },
    finish() {
      if (!sent.destroyed) sent.end(rest);
      return outcome;
    },
  };
}
