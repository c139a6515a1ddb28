import { randomUUID } from 'node:crypto';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { Counter, type Registry } from '@ocireg/metrics';
import type { TargetGuard } from '@ocireg/outbound';
import type { metadata } from '@ocireg/proto';
import { UNARY_DEADLINE_MS } from '../oci/exchange';
import type { ReplicationPush } from './replication-push';
import { TargetClient } from './target-client';

export interface ReplicationWorkerSettings {
  /** How often an idle worker asks metadata for due jobs. */
  pollMs: number;
  /** Jobs pushed at once by this gateway. */
  concurrency: number;
  /** Each request to a target: until its answer (after a streamed body's last byte), or an idle upload. */
  requestTimeoutMs: number;
}

/**
 * The gateway's replication loop (docs/replication.md): claims due jobs from
 * metadata (each under a lease, so replicas never push one job at once),
 * pushes each to its target and reports how it went; metadata schedules the
 * retries. A target's password lives only in the claim and its client, and
 * is never logged: failures are reported by what went wrong, not with what.
 */
export class ReplicationWorker {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    private readonly deps: {
      metadata: metadata.RegistryMetadataServiceClient;
      push: ReplicationPush;
      guard: TargetGuard;
      settings: ReplicationWorkerSettings;
      logger: Logger;
      metrics: Registry;
    },
  ) {
    this.outcomes = new Counter({ name: 'replication_jobs_total', help: 'Replication jobs this gateway ran, by outcome (succeeded, failed: retried or final per metadata)', labelNames: ['outcome'], registers: [deps.metrics] });
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /**
   * Keeps up to `concurrency` jobs going: claims as many as there are free
   * slots, then waits for a slot to free up or, with nothing claimed, polls.
   */
  private async run(): Promise<void> {
    const inflight = new Set<Promise<void>>();
    while (this.running) {
      let claimed = 0;
      const free = this.deps.settings.concurrency - inflight.size;
      if (free > 0) {
        try {
          const { jobs } = await unaryCall(this.deps.metadata.claimReplicationJobs.bind(this.deps.metadata), { limit: free }, { requestId: randomUUID(), deadlineMs: UNARY_DEADLINE_MS });
          claimed = jobs.length;
          for (const job of jobs) {
            const running: Promise<void> = this.runJob(job).finally(() => {
              inflight.delete(running);
              this.wake?.();
            });
            inflight.add(running);
          }
        } catch (err) {
          this.deps.logger.warn({ err: { message: (err as Error).message } }, 'could not claim replication jobs; trying again');
        }
      }
      // More may be due at once when every free slot was filled; otherwise wait for a slot or the next poll.
      if (claimed > 0 && claimed === free) continue;
      if (this.running) await this.pause(inflight.size >= this.deps.settings.concurrency ? undefined : this.deps.settings.pollMs);
    }
    await Promise.all(inflight);
  }

  /** Until a job finishes or stop() (and at most `ms`, when given). */
  private pause(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async runJob(job: metadata.ClaimedReplicationJob): Promise<void> {
    const requestId = randomUUID();
    const log = this.deps.logger.child({ job: job.jobId, target: job.targetLabel, repository: job.repository, tag: job.tag, digest: job.digest, attempt: job.attempt, requestId });
    const client = new TargetClient({ label: job.targetLabel, url: job.url, username: job.username, password: job.password }, this.deps.settings.requestTimeoutMs, this.deps.guard);
    let error = '';
    try {
      await this.deps.push.run({ repository: job.repository, destination: job.destinationRepository, tag: job.tag, digest: job.digest, requestId }, client);
    } catch (err) {
      error = withoutSecret(err instanceof Error ? err.message : String(err), job.password);
    }
    this.outcomes.inc({ outcome: error ? 'failed' : 'succeeded' });
    try {
      const result = await unaryCall(this.deps.metadata.completeReplicationJob.bind(this.deps.metadata), { jobId: job.jobId, leaseId: job.leaseId, succeeded: !error, error }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
      if (error) log.warn({ error, state: result.state }, 'replication failed');
      else log.info({ destination: job.destinationRepository }, 'replicated');
    } catch (err) {
      // The lease runs out and the job is claimed again.
      log.warn({ err: { message: (err as Error).message } }, 'could not report a replication job');
    }
  }
}

/** A message never carries the password, whatever a target echoed into it. */
function withoutSecret(message: string, password: string): string {
  const bounded = message.slice(0, 1000);
  return password ? bounded.split(password).join('***') : bounded;
}
