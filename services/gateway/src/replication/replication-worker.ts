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

  private async run(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      try {
        claimed = await this.round();
      } catch (err) {
        this.deps.logger.warn({ err: { message: (err as Error).message } }, 'could not claim replication jobs; trying again');
      }
      if (claimed === 0 && this.running) await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.deps.settings.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Claims up to `concurrency` due jobs and pushes them side by side; answers how many it claimed. */
  private async round(): Promise<number> {
    const { jobs } = await unaryCall(this.deps.metadata.claimReplicationJobs.bind(this.deps.metadata), { limit: this.deps.settings.concurrency }, { requestId: randomUUID(), deadlineMs: UNARY_DEADLINE_MS });
    await Promise.all(jobs.map((job) => this.runJob(job)));
    return jobs.length;
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
