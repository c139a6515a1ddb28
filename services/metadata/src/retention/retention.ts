import type { Pool } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import type { ChangeOrigin } from '../change-origin';
import type { Deletions } from '../deletions';
import { recordEvent } from '../outbox';
import type { EvaluatedRule, Evaluation, ManifestVerdict, TagVerdict } from './evaluate';
import { EvaluationThread } from './evaluation-thread';
import { readFacts } from './retention-facts';
import { packagePath, type EffectiveRule, type PackagePath, type ResolvedScope, type RetentionRules } from './rules';

export interface RetentionSettings {
  /** Applying more than this share of a package's tags needs `confirm` (0..1; default 0.5). */
  confirmAbove: number;
  /** Deletions per batch of an apply (each its own transaction). */
  batch: number;
}

export const DEFAULT_RETENTION_SETTINGS: RetentionSettings = { confirmAbove: 0.5, batch: 100 };

export interface Preview {
  package: PackagePath;
  rules: EffectiveRule[];
  evaluation: Evaluation;
  /** When the evaluation began (database time): an apply never deletes a tag pushed or moved after it. */
  evaluatedAt: Date;
  /** Whether applying it needs `confirm` (it deletes more than the threshold). */
  needsConfirmation: boolean;
}

export interface ApplyReport {
  preview: Preview;
  deletedTags: string[];
  deletedManifests: string[];
  /** Not deleted after all, with why: pushed or moved since, kept: immutable, gone already, tagged again. */
  skipped: Array<{ kind: 'tag' | 'manifest'; name: string; why: string }>;
}

/**
 * Retention: previews (dry runs) and applies of the effective rules of a
 * package. An apply deletes at most what its own evaluation computed, in
 * bounded batches, only through Deletions (so deletions are audited, become
 * restorable where the restore window exists, and refuse immutable tags);
 * each tag's delete checks, in its transaction, that the tag still points
 * where it did and was not pushed or moved after the evaluation began.
 */
export class Retention {
  private readonly settings: RetentionSettings;
  private readonly thread = new EvaluationThread();

  constructor(
    private readonly pool: Pool,
    private readonly rules: RetentionRules,
    private readonly deletions: Pick<Deletions, 'deleteTag' | 'deleteManifest'>,
    settings: Partial<RetentionSettings> = {},
  ) {
    this.settings = { ...DEFAULT_RETENTION_SETTINGS, ...settings };
  }

  /** Ends the evaluation thread (at shutdown). */
  close(): Promise<void> {
    return this.thread.close();
  }

  async packageOf(workspaceSlug: string, name: string): Promise<PackagePath> {
    return packagePath(this.pool, workspaceSlug, name);
  }

  /** The packages under a level (all of a workspace's, a project's, a source repository's, or the one). */
  async packagesUnder(scope: ResolvedScope, limit = 1000): Promise<PackagePath[]> {
    const { rows } = await this.pool.query<{ name: string }>(
      `SELECT p.name FROM packages p JOIN source_repositories r ON r.id = p.repository_id
       WHERE p.workspace_id = $1 AND CASE $2::text WHEN 'workspace' THEN true WHEN 'project' THEN r.project_id = $3
                                                    WHEN 'source-repository' THEN r.id = $3 ELSE p.id = $3 END
       ORDER BY p.name COLLATE "C" LIMIT $4`,
      [scope.workspaceId, scope.level, scope.id, limit],
    );
    return Promise.all(rows.map((row) => packagePath(this.pool, scope.workspaceSlug, row.name)));
  }

  async preview(path: PackagePath): Promise<Preview> {
    const { rows } = await this.pool.query<{ now: Date }>('SELECT now() AS now');
    const evaluatedAt = rows[0]!.now;
    const rules = await this.rules.effective(path);
    const applying = rules.filter((r) => !r.optedOutAt);
    const facts = await readFacts(this.pool, path.repository, path.workspaceSlug);
    // On a thread of its own: a package of 100,000 tags takes a second or two that the event loop (pushes, pulls) never waits for.
    const evaluation = await this.thread.evaluate({ ...facts, rules: applying.map(plainRule), now: evaluatedAt });
    return { package: path, rules, evaluation, evaluatedAt, needsConfirmation: this.overThreshold(evaluation) };
  }

  /** Applies the package's rules: what a preview at this moment shows, less what changed since. */
  async apply(path: PackagePath, options: { confirm: boolean; origin: ChangeOrigin }): Promise<ApplyReport> {
    const preview = await this.preview(path);
    const { evaluation } = preview;
    if (preview.needsConfirmation && !options.confirm)
      throw new RegistryError(
        'FAILED_PRECONDITION',
        `retention would delete ${evaluation.deletedTags.length} of ${evaluation.tags.length} tags of ${path.repository} (more than ${Math.round(this.settings.confirmAbove * 100)}%): apply again with confirm`,
        { field: 'confirm', deleteTags: evaluation.deletedTags.length, tags: evaluation.tags.length, deleteManifests: evaluation.deletedManifests.length },
      );
    const report: ApplyReport = { preview, deletedTags: [], deletedManifests: [], skipped: [] };
    const failedTags = new Set<string>();
    for (const batch of chunks(evaluation.deletedTags, this.settings.batch)) {
      for (const tag of batch) {
        const why = await this.attempt(() => this.deletions.deleteTag(path.repository, tag.name, options.origin, { digest: tag.digest, unchangedSince: preview.evaluatedAt }));
        if (why) {
          report.skipped.push({ kind: 'tag', name: tag.name, why });
          failedTags.add(tag.digest);
        } else report.deletedTags.push(tag.name);
      }
    }
    // Parents before what they reference; a manifest one of whose tags stayed is not touched.
    for (const batch of chunks(parentsFirst(evaluation.deletedManifests, evaluation), this.settings.batch)) {
      for (const manifest of batch) {
        if (failedTags.has(manifest.digest)) {
          report.skipped.push({ kind: 'manifest', name: manifest.digest, why: 'a tag pointing to it stayed' });
          continue;
        }
        const why = await this.attempt(() => this.deletions.deleteManifest(path.repository, manifest.digest, options.origin, { untagged: true }));
        if (why) report.skipped.push({ kind: 'manifest', name: manifest.digest, why });
        else report.deletedManifests.push(manifest.digest);
      }
    }
    await inTransaction(this.pool, async (client) => {
      await recordAudit(client, options.origin, {
        action: 'retention.applied',
        workspace: path.workspaceSlug,
        target: { type: 'package', id: path.packageId, name: path.repository },
        after: {
          rules: preview.rules.filter((r) => !r.optedOutAt).map((r) => r.id),
          deletedTags: report.deletedTags.length,
          deletedManifests: report.deletedManifests.length,
          skipped: report.skipped.length,
          bytes: evaluation.bytes,
          confirmed: options.confirm,
        },
      });
      // Hooks hear of an application that deleted something (the loop's idle rounds stay quiet).
      if (report.deletedTags.length + report.deletedManifests.length > 0) {
        await recordEvent(client, 'retention.applied', {
          workspace: path.workspaceSlug,
          repository: path.repository,
          package: path.repository.slice(path.workspaceSlug.length + 1),
          summary: { deletedTags: report.deletedTags.length, deletedManifests: report.deletedManifests.length, skipped: report.skipped.length, bytes: evaluation.bytes, confirmed: options.confirm },
        }, options.origin);
      }
      await recordState(client, path.packageId, preview.evaluatedAt, true, false, report);
    });
    return report;
  }

  /** Records that the online loop evaluated a package and did nothing (confirmation needed, or nothing to delete). */
  async recordSkipped(path: PackagePath, preview: Preview): Promise<void> {
    await inTransaction(this.pool, (client) => recordState(client, path.packageId, preview.evaluatedAt, false, preview.needsConfirmation, { preview, deletedTags: [], deletedManifests: [], skipped: [] }));
  }

  private overThreshold(evaluation: Evaluation): boolean {
    return evaluation.tags.length > 0 && evaluation.deletedTags.length > this.settings.confirmAbove * evaluation.tags.length;
  }

  /** Undefined when the delete happened; else why not (a changed tag, an immutable one, one already gone). */
  private async attempt(work: () => Promise<unknown>): Promise<string | undefined> {
    try {
      await work();
      return undefined;
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      if (err.code === 'DENIED') return `kept: immutable (${err.message})`;
      if (err.code === 'FAILED_PRECONDITION') return err.message;
      if (err.code === 'MANIFEST_UNKNOWN') return 'already gone';
      throw err;
    }
  }
}

async function recordState(client: import('pg').PoolClient, packageId: string, evaluatedAt: Date, applied: boolean, confirmationNeeded: boolean, report: ApplyReport): Promise<void> {
  const result = {
    wouldDeleteTags: report.preview.evaluation.deletedTags.length,
    wouldDeleteManifests: report.preview.evaluation.deletedManifests.length,
    tags: report.preview.evaluation.tags.length,
    deletedTags: report.deletedTags.length,
    deletedManifests: report.deletedManifests.length,
  };
  await client.query(
    `INSERT INTO retention_state (package_id, evaluated_at, applied_at, confirmation_needed, last_result) VALUES ($1, $2, CASE WHEN $3 THEN now() END, $4, $5)
     ON CONFLICT (package_id) DO UPDATE SET evaluated_at = EXCLUDED.evaluated_at, applied_at = COALESCE(EXCLUDED.applied_at, retention_state.applied_at),
       confirmation_needed = EXCLUDED.confirmation_needed, last_result = EXCLUDED.last_result`,
    [packageId, evaluatedAt, applied, confirmationNeeded, JSON.stringify(result)],
  );
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += Math.max(1, size)) yield items.slice(i, i + Math.max(1, size));
}

/** Deleted manifests ordered so that an index comes before the manifests it references. */
function parentsFirst(manifests: readonly ManifestVerdict[], _evaluation: Evaluation): ManifestVerdict[] {
  return [...manifests].sort((a, b) => depthOf(b) - depthOf(a));
  function depthOf(m: ManifestVerdict): number {
    return m.why.startsWith('every index') ? 0 : 1;
  }
}

export type { TagVerdict };

/** What the evaluation reads of a rule (the rest of the record stays on this thread). */
const plainRule = ({ id, kind, pattern, count, days }: EffectiveRule): EvaluatedRule => ({ id, kind, pattern, count, days });
