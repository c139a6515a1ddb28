import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, grpcServerMetrics, sharedSample, startMetricsServer } from './index';

describe('metrics server', () => {
  it('serves Prometheus text with the service label', async () => {
    const registry = createMetricsRegistry('unit');
    grpcServerMetrics(registry).handled.inc({ method: 'Ping', code: 'OK' });
    const { server, port } = await startMetricsServer(registry, 0, '127.0.0.1');
    try {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain('grpc_server_handled_total{method="Ping",code="OK",service="unit"} 1');
      expect(text).toContain('process_cpu_seconds_total');
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      server.close();
    }
  });
});

describe('sharedSample', () => {
  it('shares one load between calls within its age, and loads again after', async () => {
    let loads = 0;
    const sample = sharedSample(async () => ++loads, 50);
    expect(await Promise.all([sample(), sample()])).toEqual([1, 1]);
    expect(loads).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await sample()).toBe(2);
  });
});
