import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from './registry';

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
});
