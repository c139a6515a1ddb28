import type { Pool, PoolClient } from 'pg';
import type { Logger } from '@ocireg/logger';
import { Counter, Gauge, sharedSample, type Registry } from '@ocireg/metrics';
import { inTransaction } from '@ocireg/postgres';
import type { BlobStore } from '@ocireg/storage';
import type { AccessChanges } from '../access-changes';
import { freeMarkedBlobs, markedBlobs } from './blob-deleter';
import { sweepOrphans, type Orphan } from './orphan-sweep';
import { review, type GcAction, type GcSettings, type Review, type ReviewKind, type ReviewReason } from './reviews';

export interface CollectorSettings extends GcSettings {
  /** Storage objects no metadata row names are removed once this old. */
  orphanGraceMs: number;
  /** Reviews decided, and blobs freed, per round at most. */
  batch: number;
}

export interface CollectionReport {
  /** What was decided (or, in a dry run, would be), and why: manifests and blob links deleted, blobs marked for deletion. */
  actions: GcAction[];
  /** Blobs whose bytes were freed (in a dry run: those marked, whose bytes a round would free). */
  freed: GcAction[];
  /** Storage objects nothing names; undefined when the sweep did not run (not asked, or another replica sweeps). */
  orphans?: Orphan[];
}

export interface CollectionStatus {
  reviewsPending: number;
  reviewsDue: number;
  oldestDueSeconds: number;
  nextReviewAt?: Date;
  blobsMarked: number;
  bytesMarked: number;
  totals: { manifests: number; blobLinks: number; blobs: number; bytes: number; orphans: number };
  lastSweepAt?: Date;
}

/** A review that failed waits this long times its attempts (at most an hour) before the next try. */
const RETRY_BACKOFF_MS = 10_000;
const BUSY_RETRY_MS = 2_000;

/**
 * Online garbage collection: decides due reviews (each in its own
 * transaction, rows taken with FOR UPDATE SKIP LOCKED, so any number of
 * replicas collect at once), then frees the bytes of blobs marked for
 * deletion once that decision committed, and now and then sweeps storage for
 * objects no row names. See docs/garbage-collection.md.
 */
export class Collector {
  private readonly deleted: Counter<'kind'>;
  private readonly freedBytes: Counter;
  private readonly errors: Counter<'stage'>;

  constructor(
    private readonly deps: {
      pool: Pool;
      store: BlobStore;
      settings: CollectorSettings;
      logger: Logger;
      metrics: Registry;
      /** Told of each workspace whose manifests or blob links a round removed ("content:<workspace>"), so gateways drop their cached answers. */
      removals?: AccessChanges;
    },
  ) {
    const { metrics } = deps;
    this.deleted = new Counter({ name: 'metadata_gc_deleted_total', help: 'Manifests, blob links, blobs and orphaned objects garbage collection deleted', labelNames: ['kind'], registers: [metrics] });
    this.freedBytes = new Counter({ name: 'metadata_gc_freed_bytes_total', help: 'Bytes of blobs and orphaned objects garbage collection freed in storage', registers: [metrics] });
    this.errors = new Counter({ name: 'metadata_gc_errors_total', help: 'Garbage collection failures, by stage (review, free, sweep)', labelNames: ['stage'], registers: [metrics] });
    const status = sharedSample(() => this.status());
    const gauge = (name: string, help: string, pick: (status: CollectionStatus) => number) =>
      new Gauge({
        name,
        help,
        registers: [metrics],
        async collect() {
          this.set(pick(await status()));
        },
      });
    gauge('metadata_gc_reviews_pending', 'Garbage collection reviews queued (due or waiting for a grace period)', (s) => s.reviewsPending);
    gauge('metadata_gc_reviews_due', 'Garbage collection reviews due and not yet decided', (s) => s.reviewsDue);
    gauge('metadata_gc_oldest_due_review_age_seconds', 'How long the oldest due review has waited (0 when none is due)', (s) => s.oldestDueSeconds);
    gauge('metadata_gc_blobs_marked', 'Blobs marked for deletion whose bytes are not freed yet', (s) => s.blobsMarked);
  }

  /** One round: due reviews, then the bytes of marked blobs, then (when asked) the orphan sweep. */
  async collect(options: { sweep?: boolean } = {}): Promise<CollectionReport> {
    const { pool, store, settings } = this.deps;
    const actions: GcAction[] = [];
    for (let i = 0; i < settings.batch; i++) {
      const decided = await inTransaction(pool, (client) => this.decideNext(client));
      if (!decided) break;
      if (decided.action) actions.push(decided.action);
    }
    let freed: GcAction[] = [];
    try {
      freed = await freeMarkedBlobs(pool, store, settings.batch);
    } catch (err) {
      this.errors.inc({ stage: 'free' });
      this.deps.logger.error({ err }, 'freeing the bytes of collected blobs failed; retried next round');
    }
    for (const action of actions) if (action.kind !== 'blob') this.deleted.inc({ kind: action.kind });
    for (const workspace of new Set(actions.filter((a) => a.kind !== 'blob').map((a) => a.repository.slice(0, a.repository.indexOf('/'))))) {
      await this.deps.removals?.announce(`content:${workspace}`);
    }
    for (const blob of freed) {
      this.deleted.inc({ kind: 'blob' });
      this.freedBytes.inc(blob.bytes ?? 0);
    }
    const orphans = options.sweep ? await this.sweep(false) : undefined;
    if (actions.length > 0 || freed.length > 0 || orphans?.length) this.deps.logger.info({ decided: actions.length, freed: freed.length, orphans: orphans?.length }, 'garbage collected');
    return { actions, freed, orphans };
  }

  /**
   * What a round would collect now, and why: the same decisions in one
   * transaction that is rolled back, plus blobs already marked and the
   * orphans a sweep would remove. Changes nothing.
   */
  async dryRun(options: { sweep?: boolean } = {}): Promise<CollectionReport> {
    const { pool, settings } = this.deps;
    const client = await pool.connect();
    const actions: GcAction[] = [];
    try {
      await client.query('BEGIN');
      for (let i = 0; i < settings.batch; i++) {
        const decided = await this.decideNext(client);
        if (!decided) break;
        if (decided.action) actions.push(decided.action);
      }
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
    // Blobs marked before this dry run, plus those it would mark: a round would free all of them.
    const marked = await markedBlobs(pool, settings.batch);
    const markedNow = actions.filter((action) => action.kind === 'blob');
    const orphans = options.sweep ? await this.sweep(true) : undefined;
    return { actions, freed: [...marked, ...markedNow], orphans };
  }

  async status(): Promise<CollectionStatus> {
    const { rows } = await this.deps.pool.query<{
      pending: string;
      due: string;
      oldest_due_seconds: number | null;
      next_at: Date | null;
      marked: string;
      marked_bytes: string;
      manifests_deleted: string;
      blob_links_deleted: string;
      blobs_deleted: string;
      bytes_deleted: string;
      orphans_deleted: string;
      last_sweep_at: Date | null;
    }>(
      `SELECT (SELECT count(*) FROM gc_reviews) AS pending,
              (SELECT count(*) FROM gc_reviews WHERE review_after <= now()) AS due,
              (SELECT EXTRACT(EPOCH FROM now() - min(review_after)) FROM gc_reviews WHERE review_after <= now())::float8 AS oldest_due_seconds,
              (SELECT min(review_after) FROM gc_reviews WHERE review_after > now()) AS next_at,
              (SELECT count(*) FROM blobs WHERE deleting_since IS NOT NULL) AS marked,
              (SELECT COALESCE(sum(size), 0) FROM blobs WHERE deleting_since IS NOT NULL) AS marked_bytes,
              t.manifests_deleted, t.blob_links_deleted, t.blobs_deleted, t.bytes_deleted, t.orphans_deleted, t.last_sweep_at
       FROM gc_totals t`,
    );
    const row = rows[0]!;
    return {
      reviewsPending: Number(row.pending),
      reviewsDue: Number(row.due),
      oldestDueSeconds: Math.max(0, row.oldest_due_seconds ?? 0),
      ...(row.next_at ? { nextReviewAt: row.next_at } : {}),
      blobsMarked: Number(row.marked),
      bytesMarked: Number(row.marked_bytes),
      totals: { manifests: Number(row.manifests_deleted), blobLinks: Number(row.blob_links_deleted), blobs: Number(row.blobs_deleted), bytes: Number(row.bytes_deleted), orphans: Number(row.orphans_deleted) },
      ...(row.last_sweep_at ? { lastSweepAt: row.last_sweep_at } : {}),
    };
  }

  /**
   * Takes the next due review and decides it, in `client`'s transaction;
   * undefined when none is due. A review that fails is rolled back alone
   * (a savepoint) and tried again later, with its error kept.
   */
  private async decideNext(client: PoolClient): Promise<{ action?: GcAction } | undefined> {
    const { rows } = await client.query<{ kind: ReviewKind; repository: string; digest: string; reason: ReviewReason; enqueued_at: Date; attempts: number }>(
      `SELECT kind, repository, digest, reason, enqueued_at, attempts FROM gc_reviews
       WHERE review_after <= clock_timestamp() ORDER BY review_after LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
    const row = rows[0];
    if (!row) return undefined;
    const item: Review = { kind: row.kind, repository: row.repository, digest: row.digest, reason: row.reason, enqueuedAt: row.enqueued_at };
    const key = [item.kind, item.repository, item.digest];
    await client.query('SAVEPOINT review');
    try {
      const outcome = await review(client, item, this.deps.settings);
      if (outcome.type === 'done') {
        await client.query('DELETE FROM gc_reviews WHERE kind = $1 AND repository = $2 AND digest = $3', key);
        if (outcome.action?.kind === 'manifest') await client.query('UPDATE gc_totals SET manifests_deleted = manifests_deleted + 1');
        if (outcome.action?.kind === 'blob-link') await client.query('UPDATE gc_totals SET blob_links_deleted = blob_links_deleted + 1');
        return { action: outcome.action };
      }
      const at = outcome.type === 'later' ? outcome.at : new Date(Date.now() + BUSY_RETRY_MS);
      await client.query('UPDATE gc_reviews SET review_after = $4 WHERE kind = $1 AND repository = $2 AND digest = $3', [...key, at]);
      return {};
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT review');
      this.errors.inc({ stage: 'review' });
      this.deps.logger.error({ err, review: item }, 'a garbage collection review failed; tried again later');
      const retryMs = Math.min(3_600_000, RETRY_BACKOFF_MS * (row.attempts + 1));
      await client.query(
        `UPDATE gc_reviews SET attempts = attempts + 1, last_error = left($4, 500), review_after = clock_timestamp() + make_interval(secs => $5)
         WHERE kind = $1 AND repository = $2 AND digest = $3`,
        [...key, err instanceof Error ? err.message : String(err), retryMs / 1000],
      );
      return {};
    }
  }

  private async sweep(dryRun: boolean): Promise<Orphan[] | undefined> {
    try {
      const orphans = await sweepOrphans(this.deps.pool, this.deps.store, this.deps.settings.orphanGraceMs, dryRun);
      if (!dryRun) {
        for (const orphan of orphans ?? []) {
          this.deleted.inc({ kind: 'orphan' });
          this.freedBytes.inc(orphan.bytes);
        }
      }
      return orphans;
    } catch (err) {
      this.errors.inc({ stage: 'sweep' });
      this.deps.logger.error({ err }, 'the orphan sweep failed');
      throw err;
    }
  }
}
