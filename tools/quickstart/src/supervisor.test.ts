import { describe, expect, it } from 'vitest';
import { Supervisor } from './supervisor';

describe('Supervisor', () => {
  const world = () => {
    let now = 0;
    let alive = true;
    let failStarts = 0;
    const restarts: number[] = [];
    const said: string[] = [];
    const supervisor = new Supervisor(
      [
        {
          name: 'indexer',
          logFile: '/logs/indexer.log',
          isAlive: () => alive,
          restart: async () => {
            restarts.push(now);
            if (failStarts > 0) {
              failStarts -= 1;
              throw new Error('exited with code 1 during start-up\nmore');
            }
            alive = true;
          },
        },
      ],
      { say: (line) => said.push(line), now: () => now },
    );
    const run = async (untilMs: number) => {
      for (; now <= untilMs; now += 250) await supervisor.tick();
    };
    return { supervisor, run, restarts, said, crash: () => (alive = false), failNextStarts: (n: number) => (failStarts = n), at: () => now };
  };

  it('restarts a dead service after 1 s, and says so', async () => {
    const w = world();
    await w.run(5_000);
    expect(w.restarts).toEqual([]);
    w.crash();
    await w.run(10_000);
    expect(w.restarts).toEqual([6_250]);
    expect(w.said).toEqual(['indexer stopped unexpectedly (see /logs/indexer.log); restarting it in 1 s (crash 1 in a row)', 'indexer restarted']);
  });

  it('doubles the pause while it keeps crashing, up to 30 s, and starts over after a minute up', async () => {
    const w = world();
    w.crash();
    w.failNextStarts(6);
    await w.run(200_000);
    // Pauses of 1, 2, 4, 8, 16, 30, 30 s (each counted from when the death was seen).
    const pauses = w.restarts.map((at, i) => at - (i === 0 ? 0 : w.restarts[i - 1]!));
    expect(pauses).toEqual([1_000, 2_250, 4_250, 8_250, 16_250, 30_250, 30_250]);
    expect(w.said.filter((line) => line.startsWith('indexer failed to start again: exited with code 1 during start-up'))).toHaveLength(6);
    // Up for more than a minute: the next crash waits 1 s again.
    const before = w.restarts.length;
    w.crash();
    const crashedAt = w.at();
    await w.run(crashedAt + 5_000);
    expect(w.restarts.slice(before)).toEqual([crashedAt + 1_000]);
  });
});
