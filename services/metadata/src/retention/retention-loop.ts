import type { Pool } from 'pg';
import type { Logger } from '@ocireg/logger';
import { systemOrigin } from '../change-origin';
import type { Retention } from './retention';

/** Only one replica evaluates at a time (a session advisory lock). */
const RETENTION_LOCK = 24_0003;

export interface RetentionLoopOptions {
  /** Every package with rules is evaluated at least this often. */
  intervalMs: number;
  /** How often to look for packages pushed to since their last evaluation. */
  duePollMs: number;
  /** Packages per round at most. */
  packagesPerRound: number;
  logger: Logger;
}

/**
 * The packages due for evaluation: those some rule reaches (not opted out)
 * and that were never evaluated, were pushed to (a tag pushed or moved)
 * since their last evaluation, or were last evaluated longer ago than the
 * interval. A push never waits for any of this: it only leaves a newer
 * tags.updated_at behind, which this query notices (set-based, one statement).
 */
export async function duePackages(pool: Pool, intervalMs: number, limit: number): Promise<Array<{ workspaceSlug: string; name: string }>> {
  const { rows } = await pool.query<{ slug: string; name: string }>(
    `SELECT w.slug, p.name FROM packages p
     JOIN workspaces w ON w.id = p.workspace_id
     JOIN source_repositories r ON r.id = p.repository_id
     LEFT JOIN retention_state s ON s.package_id = p.id
     WHERE EXISTS (SELECT 1 FROM retention_rules rr
                   WHERE rr.workspace_id = p.workspace_id AND rr.scope_id IN (p.workspace_id, r.project_id, r.id, p.id)
                     AND NOT EXISTS (SELECT 1 FROM retention_opt_outs o WHERE o.rule_id = rr.id AND o.scope_id IN (r.project_id, r.id, p.id)))
       AND (s.package_id IS NULL
            OR s.evaluated_at < now() - $1 * interval '1 millisecond'
            OR EXISTS (SELECT 1 FROM tags t WHERE t.repository = w.slug || '/' || p.name AND t.updated_at > s.evaluated_at)
            OR EXISTS (SELECT 1 FROM retention_rules rr WHERE rr.workspace_id = p.workspace_id AND rr.created_at > s.evaluated_at))
     ORDER BY s.evaluated_at NULLS FIRST, w.slug, p.name
     LIMIT $2`,
    [intervalMs, limit],
  );
  return rows.map((row) => ({ workspaceSlug: row.slug, name: row.name }));
}

/**
 * One round: each due package is previewed; when applying it would not pass
 * the confirmation threshold it is applied (as the "retention" service),
 * otherwise the round records that a confirmation is needed and skips it.
 * Returns what it did per package.
 */
export async function retentionRound(pool: Pool, retention: Retention, options: Omit<RetentionLoopOptions, 'duePollMs'>): Promise<Array<{ package: string; outcome: 'applied' | 'nothing' | 'needs-confirmation' | 'failed'; deleted?: number }>> {
  const session = await pool.connect();
  try {
    const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [RETENTION_LOCK]);
    if (!rows[0]?.locked) return [];
    try {
      const outcomes = [];
      for (const due of await duePackages(pool, options.intervalMs, options.packagesPerRound)) {
        const name = `${due.workspaceSlug}/${due.name}`;
        try {
          const path = await retention.packageOf(due.workspaceSlug, due.name);
          const preview = await retention.preview(path);
          const { deletedTags, deletedManifests } = preview.evaluation;
          if (preview.needsConfirmation || (deletedTags.length === 0 && deletedManifests.length === 0)) {
            await retention.recordSkipped(path, preview);
            if (preview.needsConfirmation) options.logger.warn({ package: name, deleteTags: deletedTags.length, tags: preview.evaluation.tags.length }, 'retention would delete more than the threshold: apply it with confirm');
            outcomes.push({ package: name, outcome: preview.needsConfirmation ? ('needs-confirmation' as const) : ('nothing' as const) });
            continue;
          }
          const report = await retention.apply(path, { confirm: false, origin: systemOrigin('retention') });
          outcomes.push({ package: name, outcome: 'applied' as const, deleted: report.deletedTags.length + report.deletedManifests.length });
        } catch (err) {
          // A package that grew past the threshold between preview and apply is refused like any other: it waits for a confirmation.
          options.logger.error({ err, package: name }, 'retention evaluation failed');
          outcomes.push({ package: name, outcome: 'failed' as const });
        }
      }
      return outcomes;
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]);
    }
  } finally {
    session.release();
  }
}

/** Runs rounds every `duePollMs` (never overlapping); stop() waits for a running round. */
export function startRetentionLoop(pool: Pool, retention: Retention, options: RetentionLoopOptions): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = retentionRound(pool, retention, options)
        .catch((err: unknown) => options.logger.error({ err }, 'retention round failed'))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, options.duePollMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
