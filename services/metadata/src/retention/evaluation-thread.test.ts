import { afterAll, describe, expect, it } from 'vitest';
import { evaluateRetention } from './evaluate';
import { EvaluationThread } from './evaluation-thread';
import { generateHistory, HISTORY_RULES } from './retention-history';

describe('EvaluationThread', () => {
  const thread = new EvaluationThread();
  afterAll(() => thread.close());
  const now = new Date('2026-12-01T00:00:00Z');

  it('answers what evaluateRetention answers on this thread, dates and all', async () => {
    const history = generateHistory({ tagCount: 600, manifestCount: 200, days: 90, now, seed: 7 });
    const input = { ...history, rules: HISTORY_RULES, now };
    const there = await thread.evaluate(input);
    expect(there).toEqual(evaluateRetention(input));
    expect(there.tags[0]!.updatedAt).toBeInstanceOf(Date);
  });

  it('leaves the event loop free while it evaluates a large package', async () => {
    const history = generateHistory({ tagCount: 100_000, manifestCount: 25_000, days: 365, now, seed: 11 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const evaluation = await thread.evaluate({ ...history, rules: HISTORY_RULES, now });
    clearInterval(timer);
    expect(evaluation.tags).toHaveLength(100_000);
    // The timer kept firing while the other thread worked: this one was never blocked for the whole evaluation.
    expect(ticks).toBeGreaterThan(3);
  });

  it('fails an evaluation the worker cannot do, and evaluates the next one', async () => {
    await expect(thread.evaluate({ tags: [{ name: 'a', digest: 'sha256:x', updatedAt: null as unknown as Date, lastPulledAt: null }], manifests: [], rules: [{ id: 'r', kind: 'keep-recent', pattern: '*', count: 0, days: 1 }], now })).rejects.toThrow(/retention evaluation failed/);
    const history = generateHistory({ tagCount: 10, manifestCount: 5, days: 10, now, seed: 1 });
    await expect(thread.evaluate({ ...history, rules: HISTORY_RULES, now })).resolves.toMatchObject({ tags: expect.any(Array) });
  });
});
