import http from 'node:http';
import https from 'node:https';
import { pinnedLookup, RefusedTarget, TargetGuard } from '@ocireg/outbound';

/** How much of an answer's body the delivery log keeps. */
export const RESPONSE_HEAD_BYTES = 512;
const MAX_REDIRECTS = 3;

export interface SendResult {
  statusCode: number;
  latencyMs: number;
  /** "" when the target answered 2xx. */
  error: string;
  responseHead: string;
}

/**
 * POSTs one delivery: the guard checks the target's addresses first and the
 * connection goes to the checked address (a custom lookup, so DNS cannot
 * answer differently the second time); redirects are failures unless
 * `followRedirects`, each then checked again. Never throws.
 */
export class HttpSender {
  constructor(private readonly options: { guard: TargetGuard; timeoutMs: number; followRedirects: boolean; userAgent: string }) {}

  async send(rawUrl: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = Date.now();
    const result = (statusCode: number, error: string, responseHead = ''): SendResult => ({ statusCode, latencyMs: Date.now() - started, error, responseHead });
    let url: URL;
    try {
      url = TargetGuard.checkUrl(rawUrl);
    } catch (err) {
      return result(0, `refused: ${(err as Error).message}`);
    }
    for (let hop = 0; ; hop++) {
      let target: { address: string; family: 4 | 6 };
      try {
        target = await this.options.guard.addressFor(url);
      } catch (err) {
        return result(0, err instanceof RefusedTarget ? `refused: ${err.message}` : `refused: ${String(err)}`);
      }
      const answer = await this.post(url, target, headers, body, Math.max(1, this.options.timeoutMs - (Date.now() - started)));
      if ('error' in answer) return result(answer.statusCode ?? 0, answer.error);
      const { statusCode, head, location } = answer;
      if (statusCode >= 300 && statusCode < 400 && location) {
        if (!this.options.followRedirects) return result(statusCode, `redirect to ${location.slice(0, 200)} not followed (WEBHOOK_FOLLOW_REDIRECTS)`, head);
        if (hop >= MAX_REDIRECTS) return result(statusCode, `more than ${MAX_REDIRECTS} redirects`, head);
        try {
          url = TargetGuard.checkUrl(new URL(location, url).toString());
        } catch (err) {
          return result(statusCode, `redirect refused: ${(err as Error).message}`, head);
        }
        continue;
      }
      return result(statusCode, statusCode >= 200 && statusCode < 300 ? '' : `the target answered ${statusCode}`, head);
    }
  }

  private post(url: URL, target: { address: string; family: 4 | 6 }, headers: Record<string, string>, body: string, timeoutMs: number): Promise<{ statusCode: number; head: string; location: string } | { error: string; statusCode?: number }> {
    const lookup = pinnedLookup(target);
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const request = client.request(
        url,
        {
          method: 'POST',
          lookup,
          agent: false,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), 'user-agent': this.options.userAgent },
          timeout: timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const finish = () => {
            response.destroy();
            resolve({ statusCode: response.statusCode ?? 0, head: Buffer.concat(chunks).subarray(0, RESPONSE_HEAD_BYTES).toString('utf8').replace(/\uFFFD+$/, ''), location: String(response.headers.location ?? '') });
          };
          response.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            if (size >= RESPONSE_HEAD_BYTES) finish();
          });
          response.on('end', finish);
          response.on('error', finish);
        },
      );
      const timer = setTimeout(() => {
        request.destroy();
        resolve({ error: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on('error', (err: NodeJS.ErrnoException) => resolve({ error: `${err.code ?? 'error'}: ${err.message}`.slice(0, 300) }));
      request.on('close', () => clearTimeout(timer));
      request.end(body);
    });
  }
}
