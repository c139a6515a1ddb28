import type { Pool, PoolClient } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import type { ChangeOrigin } from '../change-origin';
import { matchesPackagePattern } from '../retention/pattern';
import type { CredentialSeal } from '../upstreams/credential-seal';
import { invalid, uuid } from '../validation';
import { destinationRepository } from './target-fields';

/** How failed jobs are retried and how long a claim lasts (REPLICATION_* in metadata's config). */
export interface ReplicationPolicy {
  /** Attempts before a job is `failed`. */
  maxAttempts: number;
  /** The first retry waits about this long; each further one twice as long (with jitter), up to retryMaxSeconds. */
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  /** No retry after this long since the job was queued (or last retried by hand). */
  windowSeconds: number;
  /** How long a claim holds a job; a gateway that dies mid-push loses it then, and another claims it. */
  leaseSeconds: number;
}

export const DEFAULT_REPLICATION_POLICY: ReplicationPolicy = { maxAttempts: 10, retryBaseSeconds: 30, retryMaxSeconds: 3600, windowSeconds: 24 * 3600, leaseSeconds: 900 };

export type JobState = 'pending' | 'running' | 'succeeded' | 'failed' | 'superseded';
const STATES: readonly JobState[] = ['pending', 'running', 'succeeded', 'failed', 'superseded'];

export interface ReplicationJobRecord {
  id: string;
  targetName: string;
  repository: string;
  destinationRepository: string;
  tag: string;
  digest: string;
  state: JobState;
  attempts: number;
  lastError: string;
  createdAt: string;
  updatedAt: string;
  nextAttemptAt: string;
  finishedAt: string;
}

/** A job leased to one gateway, with what it needs to push (the password opened). */
export interface ClaimedJob {
  jobId: string;
  leaseId: string;
  targetLabel: string;
  url: string;
  username: string;
  password: string;
  repository: string;
  destinationRepository: string;
  tag: string;
  digest: string;
  attempt: number;
  leaseUntilMs: number;
}

const MAX_ERROR = 1000;
const MAX_CLAIM = 50;

interface JobRow {
  id: string;
  target_name: string;
  destination_prefix: string;
  repository: string;
  tag: string;
  digest: string;
  state: JobState;
  attempts: number;
  last_error: string;
  created_at: Date;
  updated_at: Date;
  next_attempt_at: Date;
  finished_at: Date | null;
}

/**
 * In a push's transaction (manifests.ts): one job per tag set or moved and
 * per enabled target of the workspace whose package pattern matches, each
 * superseding a pending older job for the same target, package and tag. A
 * workspace without targets costs one index probe.
 */
export async function enqueueReplications(client: PoolClient, repository: string, tags: readonly string[], digest: string): Promise<number> {
  if (tags.length === 0) return 0;
  const slash = repository.indexOf('/');
  const workspace = repository.slice(0, slash);
  const packageName = repository.slice(slash + 1);
  const { rows } = await client.query<{ id: string; package_pattern: string }>(
    'SELECT t.id, t.package_pattern FROM replication_targets t WHERE t.workspace_id = (SELECT id FROM workspaces WHERE slug = $1) AND t.enabled',
    [workspace],
  );
  const targets = rows.filter((row) => matchesPackagePattern(row.package_pattern, packageName)).map((row) => row.id);
  if (targets.length === 0) return 0;
  await client.query(
    `UPDATE replication_jobs SET state = 'superseded', updated_at = now(), finished_at = now()
     WHERE target_id = ANY($1::uuid[]) AND repository = $2 AND tag = ANY($3::text[]) AND state = 'pending'`,
    [targets, repository, tags],
  );
  const inserted = await client.query(
    `INSERT INTO replication_jobs (target_id, repository, tag, digest)
     SELECT target_id, $2, tag, $4 FROM unnest($1::uuid[]) AS target_id CROSS JOIN unnest($3::text[]) AS tag`,
    [targets, repository, tags, digest],
  );
  return inserted.rowCount ?? 0;
}

/**
 * The replication queue: the gateway's worker claims due jobs under a lease
 * (FOR UPDATE SKIP LOCKED, so replicas never hold one job at once) and
 * reports each; failures come back pending with exponential backoff and
 * jitter until the attempts or the window run out, then `failed`. Users list
 * a target's jobs and retry one.
 */
export class ReplicationJobs {
  constructor(
    private readonly pool: Pool,
    private readonly seal: CredentialSeal,
    private readonly policy: ReplicationPolicy = DEFAULT_REPLICATION_POLICY,
  ) {}

  /**
   * Leases up to `limit` due jobs of enabled targets made under this
   * metadata's key: pending ones due now, and running ones whose lease ran out.
   */
  async claim(limit: number): Promise<ClaimedJob[]> {
    const count = Math.max(1, Math.min(limit || 1, MAX_CLAIM));
    const { rows } = await this.pool.query<{
      id: string; lease_id: string; lease_until: Date; attempts: number; repository: string; tag: string; digest: string;
      workspace: string; target_name: string; url: string; username: string; password_sealed: Buffer | null; destination_prefix: string;
    }>(
      `WITH due AS (
         SELECT j.id FROM replication_jobs j JOIN replication_targets t ON t.id = j.target_id
         WHERE t.enabled AND t.seal_key_id = $3 AND ((j.state = 'pending' AND j.next_attempt_at <= now()) OR (j.state = 'running' AND j.lease_until < now()))
           AND NOT EXISTS (SELECT 1 FROM replication_jobs r WHERE r.target_id = j.target_id AND r.repository = j.repository AND r.tag = j.tag
                           AND r.state = 'running' AND r.lease_until >= now() AND r.id <> j.id)
         ORDER BY j.next_attempt_at LIMIT $1 FOR UPDATE OF j SKIP LOCKED
       ), claimed AS (
         UPDATE replication_jobs j SET state = 'running', attempts = j.attempts + 1, lease_id = gen_random_uuid(),
           lease_until = now() + make_interval(secs => $2), updated_at = now()
         FROM due WHERE j.id = due.id
         RETURNING j.id, j.lease_id, j.lease_until, j.attempts, j.repository, j.tag, j.digest, j.target_id
       )
       SELECT c.*, w.slug AS workspace, t.name AS target_name, t.url, t.username, t.password_sealed, t.destination_prefix
       FROM claimed c JOIN replication_targets t ON t.id = c.target_id JOIN workspaces w ON w.id = t.workspace_id`,
      [count, this.policy.leaseSeconds, this.seal.keyId],
    );
    const claimed: ClaimedJob[] = [];
    for (const row of rows) {
      let password = '';
      try {
        password = row.password_sealed ? this.seal.open(row.password_sealed) : '';
      } catch (err) {
        // A password that does not open (a damaged row) fails this attempt with the reason; the others go on.
        await this.complete({ jobId: row.id, leaseId: row.lease_id, succeeded: false, error: `the target's password could not be opened: ${(err as Error).message}` });
        continue;
      }
      claimed.push(this.claimedJob(row, password));
    }
    return claimed;
  }

  private claimedJob(
    row: { id: string; lease_id: string; lease_until: Date; attempts: number; repository: string; tag: string; digest: string; workspace: string; target_name: string; url: string; username: string; destination_prefix: string },
    password: string,
  ): ClaimedJob {
    return {
      jobId: row.id,
      leaseId: row.lease_id,
      targetLabel: `${row.workspace}/${row.target_name}`,
      url: row.url,
      username: row.username,
      password,
      repository: row.repository,
      destinationRepository: destinationRepository(row.destination_prefix, row.repository.slice(row.repository.indexOf('/') + 1)),
      tag: row.tag,
      digest: row.digest,
      attempt: row.attempts,
      leaseUntilMs: row.lease_until.getTime(),
    };
  }

  /** Records how a claimed job went; ignored (accepted: false) when the lease is no longer this claim's. */
  async complete(input: { jobId: string; leaseId: string; succeeded: boolean; error: string }): Promise<{ accepted: boolean; state: string }> {
    const jobId = uuid('job_id', input.jobId);
    const leaseId = uuid('lease_id', input.leaseId);
    const error = boundError(input.error);
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ attempts: number; window_started_at: Date; newer: boolean }>(
        `SELECT attempts, window_started_at, EXISTS (
           SELECT 1 FROM replication_jobs n WHERE n.target_id = j.target_id AND n.repository = j.repository AND n.tag = j.tag
             AND n.created_at > j.created_at AND n.state <> 'superseded') AS newer
         FROM replication_jobs j WHERE id = $1 AND lease_id = $2 AND state = 'running' FOR UPDATE`,
        [jobId, leaseId],
      );
      const job = rows[0];
      if (!job) {
        const { rows: now } = await client.query<{ state: string }>('SELECT state FROM replication_jobs WHERE id = $1', [jobId]);
        return { accepted: false, state: now[0]?.state ?? '' };
      }
      if (input.succeeded) {
        await client.query(`UPDATE replication_jobs SET state = 'succeeded', last_error = '', lease_id = NULL, lease_until = NULL, updated_at = now(), finished_at = now() WHERE id = $1`, [jobId]);
        return { accepted: true, state: 'succeeded' };
      }
      // A newer job of the tag was queued meanwhile: it pushes the newer digest, this one is not retried.
      if (job.newer) {
        await client.query(`UPDATE replication_jobs SET state = 'superseded', last_error = $2, lease_id = NULL, lease_until = NULL, updated_at = now(), finished_at = now() WHERE id = $1`, [jobId, error]);
        return { accepted: true, state: 'superseded' };
      }
      const delay = retryDelaySeconds(this.policy, job.attempts);
      const windowEnds = job.window_started_at.getTime() + this.policy.windowSeconds * 1000;
      const final = job.attempts >= this.policy.maxAttempts || Date.now() + delay * 1000 > windowEnds;
      await client.query(
        final
          ? `UPDATE replication_jobs SET state = 'failed', last_error = $2, lease_id = NULL, lease_until = NULL, updated_at = now(), finished_at = now() WHERE id = $1`
          : `UPDATE replication_jobs SET state = 'pending', last_error = $2, lease_id = NULL, lease_until = NULL, updated_at = now(), next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1`,
        final ? [jobId, error] : [jobId, error, delay],
      );
      return { accepted: true, state: final ? 'failed' : 'pending' };
    });
  }

  /** A target's jobs, newest first. */
  async list(targetId: string, options: { limit: number; state: string }): Promise<ReplicationJobRecord[]> {
    const limit = Math.max(1, Math.min(options.limit || 50, 500));
    if (options.state && !STATES.includes(options.state as JobState)) throw invalid('state', `must be one of ${STATES.join(', ')}`);
    const { rows } = await this.pool.query<JobRow>(
      `SELECT j.*, t.name AS target_name, t.destination_prefix FROM replication_jobs j JOIN replication_targets t ON t.id = j.target_id
       WHERE j.target_id = $1 AND ($2 = '' OR j.state = $2) ORDER BY j.created_at DESC, j.id LIMIT $3`,
      [targetId, options.state, limit],
    );
    return rows.map(toRecord);
  }

  /** Makes a failed or pending job of the target due now, with a fresh window and attempts (audited in the same transaction). */
  async retry(targetId: string, jobId: string, origin: ChangeOrigin, workspaceSlug: string): Promise<ReplicationJobRecord> {
    const retried = await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<JobRow & { previous_state: string }>(
        `WITH retried AS (
           UPDATE replication_jobs j SET state = 'pending', attempts = 0, next_attempt_at = now(), window_started_at = now(), finished_at = NULL, updated_at = now()
           FROM (SELECT id, state FROM replication_jobs WHERE id = $1 AND target_id = $2 AND state IN ('failed', 'pending') FOR UPDATE) before
           WHERE j.id = before.id RETURNING j.*, before.state AS previous_state
         ) SELECT r.*, t.name AS target_name, t.destination_prefix FROM retried r JOIN replication_targets t ON t.id = r.target_id`,
        [uuid('job_id', jobId), targetId],
      );
      const row = rows[0];
      if (!row) return undefined;
      await recordAudit(client, origin, {
        action: 'replication-job.retried',
        workspace: workspaceSlug,
        target: { type: 'replication-job', id: row.id, name: `${row.repository}:${row.tag}` },
        before: { state: row.previous_state },
        after: { state: 'pending', targetName: row.target_name, digest: row.digest },
      });
      return toRecord(row);
    });
    if (retried) return retried;
    const { rows: existing } = await this.pool.query<{ state: string }>('SELECT state FROM replication_jobs WHERE id = $1 AND target_id = $2', [jobId, targetId]);
    if (!existing[0]) throw new RegistryError('NOT_FOUND', `replication job ${jobId} does not exist for this target`, { field: 'job_id' });
    throw new RegistryError('FAILED_PRECONDITION', `replication job ${jobId} is ${existing[0].state}: only failed or pending jobs are retried`, { field: 'job_id' });
  }
}

/** The wait before retry `attempts` + 1: base·2^(attempts-1), at most the maximum, less up to half of it (jitter). */
export function retryDelaySeconds(policy: ReplicationPolicy, attempts: number): number {
  const full = Math.min(policy.retryMaxSeconds, policy.retryBaseSeconds * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  return full * (0.5 + Math.random() * 0.5);
}

/** What a failure report keeps: one line, bounded. */
function boundError(error: string): string {
  return error.replace(/[\r\n\0]+/g, ' ').slice(0, MAX_ERROR);
}

function toRecord(row: JobRow): ReplicationJobRecord {
  return {
    id: row.id,
    targetName: row.target_name,
    repository: row.repository,
    destinationRepository: destinationRepository(row.destination_prefix, row.repository.slice(row.repository.indexOf('/') + 1)),
    tag: row.tag,
    digest: row.digest,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    nextAttemptAt: row.next_attempt_at.toISOString(),
    finishedAt: row.finished_at ? row.finished_at.toISOString() : '',
  };
}
