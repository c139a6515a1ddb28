import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, requestIdFrom } from './index';

describe('logger', () => {
  it('writes JSON with the service name and redacts credentials', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const logger = createLogger({ service: 'test', destination: sink });
    logger.child({ requestId: 'r1' }).info({ authorization: 'Bearer abc', token: 'xyz' }, 'hello');
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ service: 'test', requestId: 'r1', msg: 'hello', authorization: '[redacted]', token: '[redacted]' });
  });

  it('keeps a safe request id and replaces an unsafe one', () => {
    expect(requestIdFrom('abc-123')).toBe('abc-123');
    const replaced = requestIdFrom('bad id\n');
    expect(replaced).not.toContain('\n');
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });
});
