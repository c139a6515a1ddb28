import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LeaseAttempt, SessionStore, UploadSession } from './sessions';

/** What FsSessionStore keeps per session: the start time it was first saved with (Redis's ZADD NX) and when it expires. */
interface SessionFile {
  startedAt: number;
  expiresAt: number;
  session: UploadSession;
}

/** A session's write lease: its holder and until when it runs (epoch milliseconds). */
interface LeaseFile {
  leaseId: string;
  until: number;
}

/** Ids come from clients' URLs and become file names: anything else is simply unknown. */
const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Sessions as JSON files (embedded mode, no Redis), with the same semantics
 * as RedisSessionStore: a session reads as gone after `ttlSeconds`, but its id
 * stays listed by startedBefore until deleted, so the sweeper can free its storage.
 * Layout: sessions/<id>.json, expired/<id>.json, leases/<id>.json, tmp/ (each file is written there and renamed into place).
 */
export class FsSessionStore implements SessionStore {
  private readonly sessionsDir: string;
  private readonly expiredDir: string;
  private readonly leasesDir: string;
  private readonly tmpDir: string;
  private dirsCreated?: Promise<void>;
  /** The last lease step queued per session (see leaseStep). */
  private readonly leaseSteps = new Map<string, Promise<void>>();

  constructor(
    readonly dir: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sessionsDir = path.join(dir, 'sessions');
    this.expiredDir = path.join(dir, 'expired');
    this.leasesDir = path.join(dir, 'leases');
    this.tmpDir = path.join(dir, 'tmp');
  }

  async get(id: string): Promise<UploadSession | undefined> {
    const file = await this.readSessionFile(id);
    return file && file.expiresAt > this.now() ? file.session : undefined;
  }

  async save(session: UploadSession): Promise<void> {
    if (!SESSION_ID.test(session.id)) throw new Error(`invalid upload session id ${JSON.stringify(session.id)}`);
    const previous = await this.readSessionFile(session.id);
    const file: SessionFile = { startedAt: previous?.startedAt ?? session.startedAt, expiresAt: this.expiresAt(), session };
    await this.writeAtomically(path.join(this.sessionsDir, `${session.id}.json`), file);
  }

  async delete(id: string): Promise<void> {
    if (!SESSION_ID.test(id)) return;
    await rm(path.join(this.sessionsDir, `${id}.json`), { force: true });
    await this.leaseStep(id, () => rm(this.leaseFile(id), { force: true }));
  }

  /** Reads every session file: fine for embedded mode's handful of concurrent uploads. */
  async countOpen(owner: string, startedAfterMs: number): Promise<number> {
    let count = 0;
    for (const name of await listJsonFiles(this.sessionsDir)) {
      const file = await this.readSessionFile(path.basename(name, '.json'));
      if (file && file.session.owner === owner && file.startedAt > startedAfterMs) count++;
    }
    return count;
  }

  async markExpired(id: string): Promise<void> {
    if (SESSION_ID.test(id)) await this.writeAtomically(path.join(this.expiredDir, `${id}.json`), { expiresAt: this.expiresAt() });
  }

  async wasExpired(id: string): Promise<boolean> {
    if (!SESSION_ID.test(id)) return false;
    const mark = await readJson<{ expiresAt: number }>(path.join(this.expiredDir, `${id}.json`));
    return mark !== undefined && mark.expiresAt > this.now();
  }

  async startedBefore(epochMs: number, limit: number): Promise<string[]> {
    // The sweeper calls this regularly: the moment to forget marks past their time, as Redis would.
    await this.forgetOldExpiredMarks();
    const starts: Array<{ id: string; startedAt: number }> = [];
    for (const name of await listJsonFiles(this.sessionsDir)) {
      const id = path.basename(name, '.json');
      const file = await this.readSessionFile(id);
      if (file && file.startedAt < epochMs) starts.push({ id, startedAt: file.startedAt });
    }
    // Oldest first, ties by id: the order of Redis's sorted set.
    starts.sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return starts.slice(0, limit).map((start) => start.id);
  }

  private async forgetOldExpiredMarks(): Promise<void> {
    for (const name of await listJsonFiles(this.expiredDir)) {
      const file = path.join(this.expiredDir, name);
      const mark = await readJson<{ expiresAt: number }>(file);
      if (mark && mark.expiresAt <= this.now()) await rm(file, { force: true });
    }
  }

  async acquireLease(id: string, leaseId: string, ttlMs: number): Promise<LeaseAttempt> {
    if (!SESSION_ID.test(id)) return { acquired: false, heldForMs: 0 };
    return this.leaseStep(id, async () => {
      const current = await this.currentLease(id);
      if (current) return { acquired: false, heldForMs: current.until - this.now() };
      await this.writeAtomically(this.leaseFile(id), { leaseId, until: this.now() + ttlMs });
      return { acquired: true };
    });
  }

  async renewLease(id: string, leaseId: string, ttlMs: number): Promise<boolean> {
    if (!SESSION_ID.test(id)) return false;
    return this.leaseStep(id, async () => {
      if ((await this.currentLease(id))?.leaseId !== leaseId) return false;
      await this.writeAtomically(this.leaseFile(id), { leaseId, until: this.now() + ttlMs });
      return true;
    });
  }

  async holdsLease(id: string, leaseId: string): Promise<boolean> {
    return SESSION_ID.test(id) && (await this.currentLease(id))?.leaseId === leaseId;
  }

  async releaseLease(id: string, leaseId: string): Promise<void> {
    if (!SESSION_ID.test(id)) return;
    await this.leaseStep(id, async () => {
      if ((await this.currentLease(id))?.leaseId === leaseId) await rm(this.leaseFile(id), { force: true });
    });
  }

  /** The lease that runs now, if any. */
  private async currentLease(id: string): Promise<LeaseFile | undefined> {
    const current = await readJson<LeaseFile>(this.leaseFile(id));
    return current && current.until > this.now() ? current : undefined;
  }

  /**
   * Runs the read-check-write steps on one session's lease one after the
   * other: they await file operations, and two requests of this process
   * interleaving would both take the lease. One blob-upload process owns the
   * directory (embedded mode), so that makes them atomic.
   */
  private leaseStep<T>(id: string, step: () => Promise<T>): Promise<T> {
    const previous = this.leaseSteps.get(id) ?? Promise.resolve();
    const result = previous.then(step);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.leaseSteps.set(id, settled);
    void settled.then(() => {
      if (this.leaseSteps.get(id) === settled) this.leaseSteps.delete(id);
    });
    return result;
  }

  private leaseFile(id: string): string {
    return path.join(this.leasesDir, `${id}.json`);
  }

  private readSessionFile(id: string): Promise<SessionFile | undefined> {
    return SESSION_ID.test(id) ? readJson<SessionFile>(path.join(this.sessionsDir, `${id}.json`)) : Promise.resolve(undefined);
  }

  private expiresAt(): number {
    return this.now() + this.ttlSeconds * 1000;
  }

  private async writeAtomically(target: string, value: unknown): Promise<void> {
    this.dirsCreated ??= Promise.all([this.sessionsDir, this.expiredDir, this.leasesDir, this.tmpDir].map((d) => mkdir(d, { recursive: true, mode: 0o700 }))).then(() => undefined);
    await this.dirsCreated;
    const tmp = path.join(this.tmpDir, randomUUID());
    try {
      await writeFile(tmp, JSON.stringify(value), { flag: 'wx', flush: true });
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function listJsonFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
