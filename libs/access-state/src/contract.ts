import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessSnapshot, AccessStateReader, AccessStateWriter, ReaderOptions } from './access-state';

/** What a backend's test provides to the contract. */
export interface AccessStateFixture {
  writer(): AccessStateWriter;
  reader(options?: ReaderOptions): AccessStateReader;
  /** Kills, from the server side, every connection named clientName; returns how many. */
  killConnections(clientName: string): Promise<number>;
  /** Whether the backend still stores a revocation (expired or not), to see pruning. */
  isStored(tokenId: string): Promise<boolean>;
}

/** A listener that records what it was told. */
function recorder() {
  const seen = { revoked: new Set<string>(), epochs: new Map<string, number>(), snapshots: 0 };
  const merge = (snapshot: AccessSnapshot) => {
    seen.snapshots++;
    for (const tokenId of snapshot.revokedTokens) seen.revoked.add(tokenId);
    for (const [subject, epoch] of snapshot.accessEpochs) seen.epochs.set(subject, Math.max(epoch, seen.epochs.get(subject) ?? 0));
  };
  return {
    seen,
    listener: {
      onSnapshot: merge,
      onRevoked: (tokenId: string) => void seen.revoked.add(tokenId),
      onAccessChanged: (subject: string, epochMs: number) => void seen.epochs.set(subject, Math.max(epochMs, seen.epochs.get(subject) ?? 0)),
    },
  };
}

async function within(ms: number, condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const unique = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;
const inAnHour = () => new Date(Date.now() + 3_600_000);

/** The contract every access state backend passes; each backend's test calls this. */
export function accessStateContract(name: string, fixture: AccessStateFixture): void {
  describe(`access state contract: ${name}`, () => {
    const opened: Array<AccessStateReader | AccessStateWriter> = [];
    const track = <T extends AccessStateReader | AccessStateWriter>(instance: T): T => (opened.push(instance), instance);
    const writer = () => track(fixture.writer());
    const reader = (options?: ReaderOptions) => track(fixture.reader(options));

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((instance) => instance.close()));
    });

    it("a revocation by one instance reaches another's watcher within a second, and a fresh reader's load", async () => {
      const watching = recorder();
      await reader().watch(watching.listener);
      const tokenId = unique('revoked');
      expect(watching.seen.revoked.has(tokenId)).toBe(false);

      await writer().revokeToken(tokenId, inAnHour());
      await within(1_000, () => watching.seen.revoked.has(tokenId), 'watcher sees the revocation');
      expect((await reader().load()).revokedTokens).toContain(tokenId);
    });

    it("an access change reaches another instance's watcher within a second, and a fresh reader's load, and only grows", async () => {
      const watching = recorder();
      await reader().watch(watching.listener);
      const subject = `user:${unique('u')}` as const;
      const before = Date.now();

      await writer().accessChanged(subject);
      await within(1_000, () => watching.seen.epochs.has(subject), 'watcher sees the access change');
      const first = watching.seen.epochs.get(subject)!;
      expect(first).toBeGreaterThanOrEqual(before);
      expect(first).toBeLessThanOrEqual(Date.now());
      expect((await reader().load()).accessEpochs.get(subject)).toBe(first);

      await new Promise((resolve) => setTimeout(resolve, 5));
      await writer().accessChanged(subject);
      await within(1_000, () => watching.seen.epochs.get(subject)! > first, 'watcher sees the later change');
      expect((await reader().load()).accessEpochs.get(subject)).toBe(watching.seen.epochs.get(subject));
    });

    it('a new watcher starts from what was written before it', async () => {
      const tokenId = unique('earlier');
      const subject = `workspace:${unique('w')}` as const;
      const source = writer();
      await source.revokeToken(tokenId, inAnHour());
      await source.accessChanged(subject);

      const watching = recorder();
      await reader().watch(watching.listener);
      // watch() resolves after the first snapshot, so no waiting here.
      expect(watching.seen.snapshots).toBe(1);
      expect(watching.seen.revoked.has(tokenId)).toBe(true);
      expect(watching.seen.epochs.get(subject)).toBeGreaterThan(0);
    });

    it('expired revocations disappear from loads and are pruned from storage', async () => {
      const source = writer();
      const alreadyExpired = unique('expired');
      const shortLived = unique('short');
      await source.revokeToken(alreadyExpired, new Date(Date.now() - 1_000));
      await source.revokeToken(shortLived, new Date(Date.now() + 700));
      let loaded = (await reader().load()).revokedTokens;
      expect(loaded).not.toContain(alreadyExpired);
      expect(loaded).toContain(shortLived);

      await new Promise((resolve) => setTimeout(resolve, 900));
      loaded = (await reader().load()).revokedTokens;
      expect(loaded).not.toContain(shortLived);

      expect(await fixture.isStored(shortLived)).toBe(true);
      await source.revokeToken(unique('later'), inAnHour());
      expect(await fixture.isStored(shortLived)).toBe(false);
      expect(await fixture.isStored(alreadyExpired)).toBe(false);
    });

    it('a watcher whose connection is killed reconnects, reloads what it missed and hears new changes again', async () => {
      const clientName = unique('watch');
      const watching = recorder();
      await reader({ clientName }).watch(watching.listener);
      expect(watching.seen.snapshots).toBe(1);

      const source = writer();
      expect(await fixture.killConnections(clientName)).toBeGreaterThan(0);
      // Written at once: most likely while the watcher is disconnected, and then only the reload brings it.
      const missed = unique('missed');
      const subject = `user:${unique('missed')}` as const;
      await source.revokeToken(missed, inAnHour());
      await source.accessChanged(subject);
      await within(10_000, () => watching.seen.snapshots >= 2, 'watcher reloads after reconnecting');
      await within(1_000, () => watching.seen.revoked.has(missed) && watching.seen.epochs.has(subject), 'watcher has what was written during the outage');

      const after = unique('after');
      await source.revokeToken(after, inAnHour());
      await within(1_000, () => watching.seen.revoked.has(after), 'watcher hears changes after reconnecting');
    });
  });
}
