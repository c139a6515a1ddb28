/** The read for one key that is running, and the one that will start after it, shared by every caller that arrived meanwhile. */
interface Rounds<T> {
  running: Promise<T>;
  next?: Promise<T>;
}

/**
 * Coalesces concurrent reads of one key (a tag many clients pull at once, as
 * in a rollout) without serving anything stale: a caller never gets the answer
 * of a read that began before it arrived. The first caller starts a read;
 * callers arriving while it runs share one follow-up read that starts when it
 * settles; callers arriving during that one share the next, and so on. So at
 * most two reads of a key are pending at a time, whatever the number of
 * callers, and each answer reflects every write completed before its caller
 * asked.
 */
export class CoalescedReads<T> {
  private readonly rounds = new Map<string, Rounds<T>>();

  read(key: string, fetch: () => Promise<T>): Promise<T> {
    const rounds = this.rounds.get(key);
    if (!rounds) return this.start(key, fetch);
    // Not started yet: it begins after this caller arrived.
    rounds.next ??= rounds.running.then(
      () => this.promote(key, fetch),
      () => this.promote(key, fetch),
    );
    return rounds.next;
  }

  /** Keys with a read pending (for tests). */
  get pending(): number {
    return this.rounds.size;
  }

  private start(key: string, fetch: () => Promise<T>): Promise<T> {
    const running = Promise.resolve().then(fetch);
    const rounds: Rounds<T> = { running };
    this.rounds.set(key, rounds);
    this.settle(key, rounds);
    return running;
  }

  /** The follow-up read begins: it becomes the running one, and later callers queue behind it. */
  private promote(key: string, fetch: () => Promise<T>): Promise<T> {
    const rounds = this.rounds.get(key)!;
    rounds.running = Promise.resolve().then(fetch);
    rounds.next = undefined;
    this.settle(key, rounds);
    return rounds.running;
  }

  /** Forgets the key once its running read settled with nobody queued behind it. */
  private settle(key: string, rounds: Rounds<T>): void {
    const running = rounds.running;
    const done = () => {
      if (rounds.running === running && !rounds.next) this.rounds.delete(key);
    };
    running.then(done, done);
  }
}
