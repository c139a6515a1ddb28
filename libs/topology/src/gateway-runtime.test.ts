import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_ENV, GATEWAY_NODE_FLAGS } from './gateway-runtime';

const REPO_ROOT = path.resolve(__dirname, '../../..');

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

/**
 * In `node` started with the gateway's flags and `env`: a 16 MiB buffer comes
 * and goes (as an S3 part does), then 30 MiB of 100 KiB buffers; reports the
 * MiB of anonymous memory still resident once they are freed as well.
 */
function retainedAfterFreeMiB(env: Record<string, string>): number {
  const script = `
    const MiB = 1024 * 1024;
    const anon = () => Number(/^RssAnon:\\s+(\\d+)/m.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
    const collected = () => { gc(); return new Promise((resolve) => setTimeout(resolve, 20)); };
    (async () => {
      let big = Buffer.allocUnsafeSlow(16 * MiB);
      big.fill(1);
      big = null;
      await collected();
      const before = anon();
      let pieces = [];
      for (let i = 0; i < 300; i++) pieces.push(Buffer.allocUnsafeSlow(100 * 1024).fill(1));
      pieces = null;
      await collected();
      await collected();
      console.log(anon() - before);
    })();
  `;
  // From a file: node -e allocates around the script and holds the top of the heap.
  const dir = mkdtempSync(path.join(tmpdir(), 'ocireg-trim-'));
  try {
    writeFileSync(path.join(dir, 'retained.js'), script);
    return Number(execFileSync(process.execPath, [...GATEWAY_NODE_FLAGS, path.join(dir, 'retained.js')], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the node flags and environment the gateway runs with (Linux: reads /proc)', () => {
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

  it('come with an environment in which glibc hands freed memory back', () => {
    // glibc's default: a freed 16 MiB buffer lets it keep up to 32 MiB of freed memory per heap.
    const { MALLOC_TRIM_THRESHOLD_: _, ...withoutTrim } = GATEWAY_ENV;
    expect(retainedAfterFreeMiB(withoutTrim)).toBeGreaterThan(20); // 29 here
    expect(retainedAfterFreeMiB(GATEWAY_ENV)).toBeLessThan(4); // 0.2
  }, 60_000);
});
