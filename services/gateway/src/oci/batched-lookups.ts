/** One call's worth of lookups: each distinct key once, shared by every caller that asked for it. */
interface Batch<K, V> {
  members: Map<string, { key: K; answer: Promise<V>; resolve: (value: V) => void; reject: (err: unknown) => void }>;
}

export interface BatchedLookupsOptions<K, V> {
  /** Looks up many keys in one call; answers in the order of `keys`. */
  load: (keys: K[]) => Promise<V[]>;
  /** Keys with the same id are one lookup. */
  idOf: (key: K) => string;
  /** Calls running at once; further lookups wait in batches. */
  maxInFlight: number;
  /** Distinct keys per call. */
  maxBatch: number;
}

/**
 * Batches concurrent lookups (tags many clients pull at once, as in a
 * rollout) into few calls, without serving anything stale: a caller never
 * gets the answer of a call that began before it asked. While fewer than
 * `maxInFlight` calls run, a lookup starts a call of its own; otherwise it
 * joins the batch that starts when a running call settles (callers asking for
 * the same key share its answer). So each answer reflects every write
 * completed before its caller asked, and under load one call answers many.
 */
export class BatchedLookups<K, V> {
  private inFlight = 0;
  private readonly waiting: Batch<K, V>[] = [];

  constructor(private readonly options: BatchedLookupsOptions<K, V>) {}

  lookup(key: K): Promise<V> {
    const id = this.options.idOf(key);
    if (this.inFlight < this.options.maxInFlight && this.waiting.length === 0) {
      const batch: Batch<K, V> = { members: new Map() };
      const answer = this.join(batch, id, key);
      this.send(batch);
      return answer;
    }
    const last = this.waiting.at(-1);
    const fits = last && (last.members.has(id) || last.members.size < this.options.maxBatch);
    const batch = fits ? last : { members: new Map() };
    if (!fits) this.waiting.push(batch);
    return this.join(batch, id, key);
  }

  /** Calls running and batches waiting (for tests). */
  get pending(): { inFlight: number; waiting: number } {
    return { inFlight: this.inFlight, waiting: this.waiting.length };
  }

  private join(batch: Batch<K, V>, id: string, key: K): Promise<V> {
    const member = batch.members.get(id);
    if (member) return member.answer;
    let resolve!: (value: V) => void;
    let reject!: (err: unknown) => void;
    const answer = new Promise<V>((res, rej) => ((resolve = res), (reject = rej)));
    batch.members.set(id, { key, answer, resolve, reject });
    return answer;
  }

  private send(batch: Batch<K, V>): void {
    this.inFlight++;
    const members = [...batch.members.values()];
    Promise.resolve()
      .then(() => this.options.load(members.map((member) => member.key)))
      .then((values) => {
        if (values.length !== members.length) throw new Error(`a batched lookup answered ${values.length} of ${members.length} keys`);
        members.forEach((member, i) => member.resolve(values[i]!));
      })
      .catch((err: unknown) => {
        for (const member of members) member.reject(err);
      })
      .finally(() => {
        this.inFlight--;
        const next = this.waiting.shift();
        if (next) this.send(next);
      });
  }
}
