import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { GATEWAY_NODE_FLAGS, REPO_ROOT } from './registry';

/**
 * Runs a heap churn (old objects kept, then dropped, as a gateway's caches and
 * long requests do) in `node` started with `flags`, and reports the CPU clock
 * ticks spent by its threads other than the main one, and its young
 * generation's capacity. Pure JavaScript uses no libuv pool, so those threads
 * are V8's garbage-collector helpers.
 */
function churn(flags: readonly string[]): { helperTicks: number; youngMiB: number } {
  const script = `
    const { readdirSync, readFileSync } = require('node:fs');
    let kept = [];
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 40000; i++) kept.push({ round, i, text: 'x'.repeat(24) + i });
      if (round % 10 === 9) kept = [];
    }
    let helperTicks = 0;
    for (const task of readdirSync('/proc/self/task')) {
      if (Number(task) === process.pid) continue;
      const fields = readFileSync('/proc/self/task/' + task + '/stat', 'utf8').split(') ')[1].split(' ');
      helperTicks += Number(fields[11]) + Number(fields[12]);
    }
    const young = require('node:v8').getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    console.log(JSON.stringify({ helperTicks, youngMiB: young.space_size / 2 ** 20 }));
  `;
  return JSON.parse(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' })) as { helperTicks: number; youngMiB: number };
}

/**
 * Streams a 256 MiB request body over loopback into the gateway's
 * requestChunks, in `node` started with `flags`, and reports the peak of
 * memory outside V8's heap (the buffers the body arrived in) while reading it.
 */
function bodyGarbageMiB(flags: readonly string[]): number {
  const script = `
    const http = require('node:http');
    const { requestChunks } = require(${JSON.stringify(path.join(REPO_ROOT, 'services/gateway/dist/oci/request-chunks.js'))});
    const MiB = 1024 * 1024;
    const server = http.createServer(async (req, res) => {
      let peak = 0;
      for await (const chunk of requestChunks(req, { idleMs: 30000, deadlineMs: Date.now() + 60000, timedOut: () => new Error('timed out') })) {
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      }
      res.end(String(peak / MiB));
    });
    server.listen(0, '127.0.0.1', () => {
      const piece = Buffer.alloc(MiB, 7);
      const req = http.request({ port: server.address().port, method: 'PUT', headers: { 'content-length': 256 * MiB } }, (res) => {
        let answer = '';
        res.on('data', (data) => (answer += data));
        res.on('end', () => { console.log(answer); server.close(); });
      });
      let sent = 0;
      const send = () => {
        while (sent < 256) {
          sent++;
          if (!req.write(piece)) return req.once('drain', send);
        }
        req.end();
      };
      send();
    });
  `;
  return Number(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' }));
}

describe('the node flags the gateway runs with (Linux: reads /proc)', () => {
  it('keep the garbage collector on the main thread and the young generation small', () => {
    // The same churn under V8's defaults keeps helper threads busy and grows the young generation: the flags are what change it.
    const defaults = churn([]);
    expect(defaults.helperTicks).toBeGreaterThan(5);
    const gateway = churn(GATEWAY_NODE_FLAGS);
    expect(gateway.helperTicks).toBeLessThanOrEqual(1);
    expect(gateway.youngMiB).toBeLessThanOrEqual(8);
    expect(defaults.youngMiB).toBeGreaterThan(gateway.youngMiB);
  }, 60_000);

  it('let the gateway free the buffers a request body arrives in as it reads them', () => {
    // Without --expose-gc the same body leaves tens of MiB of dead buffers until V8 collects on its own.
    const uncollected = bodyGarbageMiB(GATEWAY_NODE_FLAGS.filter((flag) => flag !== '--expose-gc'));
    expect(uncollected).toBeGreaterThan(24); // 33 here
    const gateway = bodyGarbageMiB(GATEWAY_NODE_FLAGS);
    expect(gateway).toBeLessThan(16); // 9: one collection per 8 MiB, and the client's 1 MiB piece
  }, 60_000);
});
