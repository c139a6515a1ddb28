import { createLogger } from '@ocireg/logger';
import { createMetricsRegistry } from '@ocireg/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkGrpcHealth } from './health-check';
import { untilReady } from './readiness';
import { startGrpcServer, type RunningGrpcServer } from './server';

const logger = createLogger({ service: 'readiness-test', level: 'silent' });

/** A check that fails `failures` times, then passes; counts its calls. */
function flaky(failures: number) {
  const calls = { count: 0 };
  const check = async () => {
    calls.count++;
    if (calls.count <= failures) throw new Error(`not yet (${calls.count})`);
  };
  return { calls, check };
}

describe('untilReady', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a failing check each second and turns ready once it passes, then never checks again', async () => {
    vi.useFakeTimers();
    const { calls, check } = flaky(2);
    const onReady = vi.fn();
    const readiness = untilReady('test', check, logger, onReady);
    await vi.advanceTimersByTimeAsync(0);
    expect([calls.count, readiness.ready]).toEqual([1, false]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect([calls.count, readiness.ready]).toEqual([2, false]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect([calls.count, readiness.ready, onReady.mock.calls.length]).toEqual([3, true, 1]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect([calls.count, onReady.mock.calls.length]).toEqual([3, 1]);
  });

  it('stops retrying when stopped, and never turns ready', async () => {
    vi.useFakeTimers();
    const { calls, check } = flaky(Number.POSITIVE_INFINITY);
    const readiness = untilReady('test', check, logger);
    await vi.advanceTimersByTimeAsync(2_500);
    expect(calls.count).toBe(3);
    readiness.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect([calls.count, readiness.ready]).toEqual([3, false]);
  });
});

describe('a gRPC server with readyWhen', () => {
  let server: RunningGrpcServer | undefined;
  afterEach(async () => {
    await server?.shutdown(100);
  });

  it('answers NOT_SERVING on its health port until the check passes, then SERVING', async () => {
    let dependencyUp = false;
    server = await startGrpcServer(
      { name: 'test', host: '127.0.0.1', port: 0, healthPort: 0, logger, metrics: createMetricsRegistry('readiness-test'), protoFiles: [], protoIncludeDirs: [], security: { kind: 'public' }, readyWhen: async () => { if (!dependencyUp) throw new Error('down'); } },
      [],
    );
    const address = `127.0.0.1:${server.healthPort}`;
    expect(await checkGrpcHealth(address)).toBe('NOT_SERVING');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await checkGrpcHealth(address)).toBe('NOT_SERVING');
    dependencyUp = true;
    const deadline = Date.now() + 3_000;
    let status = await checkGrpcHealth(address);
    while (status !== 'SERVING' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await checkGrpcHealth(address);
    }
    expect(status).toBe('SERVING');
  });
});
