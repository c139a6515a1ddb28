import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pinnedLookup, TargetGuard } from './target-guard';

export interface GuardedRequest {
  method: string;
  headers: Record<string, string>;
  /** Until the answer's headers arrive (each hop); the body then streams as long as it flows. */
  timeoutMs: number;
  /** Redirects followed (each checked by the guard again; Authorization dropped when one leaves the origin). */
  maxRedirects: number;
  /**
   * A request body: bytes, or a stream sent with backpressure (give its
   * Content-Length in `headers`). A request with a body follows no redirect
   * (its 3xx is the answer), and its timeout counts from the body's last
   * byte; while the body is sent, a socket idle for `timeoutMs` fails it.
   */
  body?: Buffer | Readable;
}

/** Why a guarded request got no answer: `code` is a short word for messages (ECONNREFUSED, TIMEOUT, REFUSED_TARGET, ...). */
export class GuardedFetchError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * fetch() for targets users name: every hop's host is checked by the guard
 * after DNS resolution and the connection goes to the checked address, so
 * neither a redirect nor a second DNS answer reaches an address the guard
 * refuses. Answers with a web Response (its body streamed).
 */
export async function guardedFetch(guard: TargetGuard, rawUrl: string, request: GuardedRequest): Promise<Response> {
  let url = TargetGuard.checkUrl(rawUrl);
  const headers = { ...request.headers };
  for (let hop = 0; ; hop++) {
    const target = await guard.addressFor(url);
    const answer = await send(url, target, request.method, headers, request.timeoutMs, request.body);
    const location = answer.headers.location;
    const status = answer.statusCode ?? 0;
    if (request.body === undefined && status >= 300 && status < 400 && status !== 304 && typeof location === 'string' && location) {
      answer.destroy();
      if (hop >= request.maxRedirects) throw new GuardedFetchError('TOO_MANY_REDIRECTS', `more than ${request.maxRedirects} redirects`);
      const next = TargetGuard.checkUrl(new URL(location, url).toString());
      if (next.origin !== url.origin) delete headers.Authorization;
      url = next;
      continue;
    }
    return toResponse(answer, request.method);
  }
}

function send(url: URL, target: { address: string; family: 4 | 6 }, method: string, headers: Record<string, string>, timeoutMs: number, body?: Buffer | Readable): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method, headers, lookup: pinnedLookup(target), agent: false });
    let timer: NodeJS.Timeout | undefined;
    const startTimer = () => {
      timer = setTimeout(() => req.destroy(new GuardedFetchError('TIMEOUT', `no answer within ${timeoutMs} ms`)), timeoutMs);
    };
    req.on('response', (response) => {
      clearTimeout(timer);
      req.setTimeout(0);
      resolve(response);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (body instanceof Readable) body.destroy();
      reject(err instanceof GuardedFetchError ? err : new GuardedFetchError(err.code ?? 'ERROR', err.message.slice(0, 200)));
    });
    if (body instanceof Readable) {
      // The answer comes after the last byte: until then only an idle socket times out.
      req.setTimeout(timeoutMs, () => req.destroy(new GuardedFetchError('TIMEOUT', `the request body stalled for ${timeoutMs} ms`)));
      req.on('finish', startTimer);
      body.on('error', (err) => req.destroy(new GuardedFetchError('BODY_FAILED', `the request body failed: ${err.message.slice(0, 200)}`)));
      body.pipe(req);
    } else {
      startTimer();
      req.end(body);
    }
  });
}

function toResponse(answer: IncomingMessage, method: string): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const status = answer.statusCode ?? 0;
  if (status < 200 || status > 599) {
    answer.destroy();
    throw new GuardedFetchError('BAD_STATUS', `answered with status ${status}`);
  }
  const empty = method === 'HEAD' || NULL_BODY_STATUSES.has(status);
  if (empty) answer.resume();
  return new Response(empty ? null : (Readable.toWeb(answer) as ReadableStream<Uint8Array>), { status, headers });
}
