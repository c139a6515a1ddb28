import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryError } from '@ocireg/errors';
import { createLogger } from '@ocireg/logger';
import { writeError } from './http-io';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('writeError', () => {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** Answers every request with `err` through writeError; returns the server's URL. */
  async function answering(err: unknown): Promise<string> {
    server = createServer((req, res) => writeError(req, res, err, logger));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  it('says when to retry with Retry-After when the error carries retryAfterSeconds', async () => {
    const url = await answering(new RegistryError('TOOMANYREQUESTS', 'another request is writing to upload u', { retryAfterSeconds: 2.5 }));
    const response = await fetch(url);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(await response.json()).toEqual({ errors: [{ code: 'TOOMANYREQUESTS', message: 'another request is writing to upload u', detail: { retryAfterSeconds: 2.5 } }] });
  });

  it('sends no Retry-After for errors that do not say when to retry', async () => {
    const url = await answering(new RegistryError('TOOMANYREQUESTS', 'too many open upload sessions', { limit: 3 }));
    const response = await fetch(url);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBeNull();
  });
});
