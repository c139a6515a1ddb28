import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import type { CallContext } from '@ocireg/grpc';
import { createLogger } from '@ocireg/logger';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from '../access';
import type { Caller, CallerResolver } from '../callers';
import { createMetadataModel, type MetadataModel } from '../metadata-model';
import { digestOf, TEST_ORIGIN, unique, withTestbed, world } from '../metadata-testbed';
import { CredentialSeal } from '../upstreams/credential-seal';
import { replicationHandlers } from './replication-handlers';

const policy = { maxAttempts: 3, retryBaseSeconds: 1, retryMaxSeconds: 2, windowSeconds: 3600, leaseSeconds: 30 };

describe('Replication targets and jobs against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;
  withTestbed((testbed) => {
    pool = testbed.pool;
    model = createMetadataModel(testbed.pool, { credentials: new CredentialSeal(randomBytes(32).toString('base64')), replicationPolicy: policy });
  });

  const target = (slug: string, fields: Partial<Parameters<MetadataModel['replicationTargets']['create']>[0]> = {}) =>
    model.replicationTargets.create({ workspaceSlug: slug, name: 'mirror', url: 'https://mirror.example.test/', username: '', password: '', packagePattern: '*', destinationPrefix: '', enabled: true, ...fields }, TEST_ORIGIN);

  /** Pushes a small image manifest to `<slug>/<image>` with `tags` (the package linked to `repositoryId`, created first). */
  async function push(slug: string, repositoryId: string, image: string, tags: string[], seed = randomBytes(4).toString('hex')): Promise<string> {
    if (!(await pool.query('SELECT 1 FROM packages p JOIN workspaces w ON w.id = p.workspace_id WHERE w.slug = $1 AND p.name = $2', [slug, image])).rowCount) {
      await model.packages.create({ requestId: '', workspaceSlug: slug, name: image, sourceRepositoryId: repositoryId, actorUserId: OPERATOR }, TEST_ORIGIN);
    }
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: digestOf(seed), size: 1 }, layers: [], annotations: { seed } }));
    return model.manifests.put({ repository: `${slug}/${image}`, tags, digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [], origin: TEST_ORIGIN });
  }

  const jobsOf = async (slug: string, name = 'mirror') => model.replicationJobs.list(await model.replicationTargets.idOf(slug, name), { limit: 100, state: '' });

  it('seals the password, never shows it, audits creation and deletion in their transactions', async () => {
    const { slug } = await world(model);
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const created = await target(slug, { username: 'bot', password, destinationPrefix: '/mirror/acme/' });
    expect(created).toMatchObject({ name: 'mirror', url: 'https://mirror.example.test', username: 'bot', hasPassword: true, packagePattern: '*', destinationPrefix: 'mirror/acme', enabled: true });
    expect(JSON.stringify(await model.replicationTargets.list(slug))).not.toContain(password);
    const { rows } = await pool.query<{ password_sealed: Buffer }>('SELECT password_sealed FROM replication_targets WHERE id = $1', [created.id]);
    expect(rows[0]!.password_sealed.includes(Buffer.from(password))).toBe(false);
    await expect(target(slug)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await model.replicationTargets.delete(slug, 'mirror', TEST_ORIGIN);
    await expect(model.replicationTargets.get(slug, 'mirror')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const audit = await pool.query<{ action: string; after: unknown }>("SELECT action, after FROM audit_log WHERE workspace = $1 AND target_type = 'replication-target' ORDER BY seq", [slug]);
    expect(audit.rows.map((r) => r.action)).toEqual(['replication-target.created', 'replication-target.deleted']);
    expect(JSON.stringify(audit.rows)).not.toContain(password);
  });

  it('refuses bad fields with the field named', async () => {
    const { slug } = await world(model);
    await expect(target(slug, { url: 'https://u:p@r.example.test' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'url' } });
    await expect(target(slug, { url: 'ftp://r.example.test' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'url' } });
    await expect(target(slug, { packagePattern: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'package_pattern' } });
    await expect(target(slug, { packagePattern: 'A[b]' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'package_pattern' } });
    await expect(target(slug, { destinationPrefix: 'Bad Prefix' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'destination_prefix' } });
    await expect(target(slug, { password: 'p' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'username' } });
    await expect(target(slug, { name: 'Mirror!' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'name' } });
    const keyless = createMetadataModel(pool);
    await expect(keyless.replicationTargets.create({ workspaceSlug: slug, name: 'x', url: 'https://r.example.test', username: 'u', password: 'p', packagePattern: '*', destinationPrefix: '', enabled: true }, TEST_ORIGIN)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
  });

  it('queues a job in the push transaction per matching enabled target, and none for others', async () => {
    const { slug, api } = await world(model);
    await target(slug, { packagePattern: 'team/*' });
    await target(slug, { name: 'everything', packagePattern: '*' });
    await target(slug, { name: 'off', packagePattern: '*', enabled: false });
    await target(slug, { name: 'broken', packagePattern: 'x' });
    // A stored malformed pattern matches nothing (it could only get there by hand).
    await pool.query("UPDATE replication_targets SET package_pattern = 'TEAM/[' WHERE name = 'broken'");
    const digest = await push(slug, api.id, 'team/api', ['v1', 'latest']);
    await push(slug, api.id, 'other', ['v1']);
    expect((await jobsOf(slug)).map((j) => [j.repository, j.tag, j.digest, j.state, j.destinationRepository]).sort()).toEqual([
      [`${slug}/team/api`, 'latest', digest, 'pending', 'team/api'],
      [`${slug}/team/api`, 'v1', digest, 'pending', 'team/api'],
    ]);
    expect((await jobsOf(slug, 'everything')).map((j) => j.repository).sort()).toEqual([`${slug}/other`, `${slug}/team/api`, `${slug}/team/api`]);
    expect(await jobsOf(slug, 'off')).toEqual([]);
    expect(await jobsOf(slug, 'broken')).toEqual([]);
    // Re-pushing the same digest to the same tag moves nothing: no job.
    await push(slug, api.id, 'team/api', ['v1'], 'same');
    await push(slug, api.id, 'team/api', ['v1'], 'same');
    expect((await jobsOf(slug)).filter((j) => j.tag === 'v1')).toHaveLength(2);
    // Queued in the push's transaction: each job and the manifest it pushed carry the same transaction time.
    const { rows } = await pool.query<{ same: boolean }>(
      `SELECT j.created_at = m.created_at AS same FROM replication_jobs j JOIN manifests m ON m.repository = j.repository AND m.digest = j.digest WHERE j.repository = $1`,
      [`${slug}/team/api`],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.same)).toBe(true);
  });

  it('supersedes a pending older job of the same target, package and tag', async () => {
    const { slug, api } = await world(model);
    await target(slug);
    const first = await push(slug, api.id, 'app', ['latest']);
    const second = await push(slug, api.id, 'app', ['latest']);
    const jobs = await jobsOf(slug);
    expect(jobs.map((j) => [j.digest, j.state])).toEqual(expect.arrayContaining([[first, 'superseded'], [second, 'pending']]));
    expect(jobs).toHaveLength(2);
    // While a job of the tag is being pushed, a newer one waits; if the older fails, it is not retried over the newer.
    const ours = async () => (await model.replicationJobs.claim(50)).filter((j) => j.repository === `${slug}/app`);
    const [running] = await ours();
    expect(running?.digest).toBe(second);
    const third = await push(slug, api.id, 'app', ['latest']);
    expect(await ours()).toEqual([]);
    expect((await model.replicationJobs.complete({ jobId: running!.jobId, leaseId: running!.leaseId, succeeded: false, error: 'HTTP 500' })).state).toBe('superseded');
    const [next] = await ours();
    expect(next?.digest).toBe(third);
  });

  it('leases a job to one claimer with its opened password, retries with backoff, fails at the limit, and retries by hand', async () => {
    const { slug, api } = await world(model);
    const password = `pw-${randomBytes(8).toString('hex')}`;
    await target(slug, { username: 'bot', password, destinationPrefix: 'copy' });
    const digest = await push(slug, api.id, 'app', ['v1']);
    // Other tests' jobs may be due too: take ours.
    const claimOurs = async () => (await model.replicationJobs.claim(50)).filter((j) => j.repository === `${slug}/app`);
    // A metadata with another key never claims it (its password would not open there).
    const otherKey = createMetadataModel(pool, { credentials: new CredentialSeal(randomBytes(32).toString('base64')), replicationPolicy: policy });
    expect((await otherKey.replicationJobs.claim(50)).filter((j) => j.repository === `${slug}/app`)).toEqual([]);
    const [claimed] = await claimOurs();
    expect(claimed).toMatchObject({ targetLabel: `${slug}/mirror`, url: 'https://mirror.example.test', username: 'bot', password, repository: `${slug}/app`, destinationRepository: 'copy/app', tag: 'v1', digest, attempt: 1 });
    // Leased: nobody else gets it, even concurrently.
    expect(await claimOurs()).toEqual([]);
    // A report with another lease is ignored.
    expect(await model.replicationJobs.complete({ jobId: claimed!.jobId, leaseId: '00000000-0000-4000-8000-000000000000', succeeded: true, error: '' })).toMatchObject({ accepted: false, state: 'running' });
    expect(await model.replicationJobs.complete({ jobId: claimed!.jobId, leaseId: claimed!.leaseId, succeeded: false, error: `connection refused\nsecond line ${'x'.repeat(2000)}` })).toEqual({ accepted: true, state: 'pending' });
    let [job] = await jobsOf(slug);
    expect(job).toMatchObject({ state: 'pending', attempts: 1 });
    expect(job!.lastError).toMatch(/^connection refused second line x+$/);
    expect(job!.lastError.length).toBe(1000);
    expect(new Date(job!.nextAttemptAt).getTime()).toBeGreaterThan(Date.now() + 200);
    expect(await claimOurs()).toEqual([]);
    // Due again after the backoff (at most retryMaxSeconds).
    for (let attempt = 2; attempt <= 3; attempt++) {
      await pool.query("UPDATE replication_jobs SET next_attempt_at = now() WHERE repository = $1 AND state = 'pending'", [`${slug}/app`]);
      const [again] = await claimOurs();
      expect(again?.attempt).toBe(attempt);
      expect((await model.replicationJobs.complete({ jobId: again!.jobId, leaseId: again!.leaseId, succeeded: false, error: 'HTTP 503' })).state).toBe(attempt < 3 ? 'pending' : 'failed');
    }
    [job] = await jobsOf(slug);
    expect(job).toMatchObject({ state: 'failed', attempts: 3, lastError: 'HTTP 503' });
    expect(job!.finishedAt).not.toBe('');
    const targetId = await model.replicationTargets.idOf(slug, 'mirror');
    expect(await model.replicationJobs.retry(targetId, job!.id, TEST_ORIGIN, slug)).toMatchObject({ state: 'pending', attempts: 0 });
    const audited = await pool.query<{ before: { state: string } }>("SELECT before FROM audit_log WHERE action = 'replication-job.retried' AND target_id = $1", [job!.id]);
    expect(audited.rows.map((r) => r.before)).toEqual([{ state: 'failed' }]);
    const [retried] = await claimOurs();
    expect(retried?.attempt).toBe(1);
    await expect(model.replicationJobs.retry(targetId, job!.id, TEST_ORIGIN, slug)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    // A lease that ran out is claimed again (the holder died); its late report is then ignored.
    await pool.query("UPDATE replication_jobs SET lease_until = now() - interval '1 second' WHERE id = $1", [retried!.jobId]);
    const [reclaimed] = await claimOurs();
    expect(reclaimed).toMatchObject({ jobId: retried!.jobId, attempt: 2 });
    expect((await model.replicationJobs.complete({ jobId: retried!.jobId, leaseId: retried!.leaseId, succeeded: true, error: '' })).accepted).toBe(false);
    expect(await model.replicationJobs.complete({ jobId: reclaimed!.jobId, leaseId: reclaimed!.leaseId, succeeded: true, error: '' })).toEqual({ accepted: true, state: 'succeeded' });
    expect((await model.replicationTargets.get(slug, 'mirror')).counts).toEqual({ pending: 0, succeeded: 1, failed: 0 });
    // Another workspace's target id does not reach this job.
    const other = await world(model);
    await target(other.slug);
    await expect(model.replicationJobs.retry(await model.replicationTargets.idOf(other.slug, 'mirror'), job!.id, TEST_ORIGIN, other.slug)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a password that does not open fails that attempt with the reason, not the whole claim', async () => {
    const { slug, api } = await world(model);
    await target(slug, { username: 'bot', password: 'secret-one' });
    await target(slug, { name: 'second', username: 'bot', password: 'secret-two' });
    await push(slug, api.id, 'app', ['v1']);
    await pool.query("UPDATE replication_targets SET password_sealed = '\\x00112233'::bytea WHERE name = 'mirror' AND workspace_id = (SELECT id FROM workspaces WHERE slug = $1)", [slug]);
    const ours = (await model.replicationJobs.claim(50)).filter((j) => j.repository === `${slug}/app`);
    expect(ours.map((j) => [j.targetLabel, j.password])).toEqual([[`${slug}/second`, 'secret-two']]);
    const [damaged] = await jobsOf(slug);
    expect(damaged).toMatchObject({ state: 'pending', attempts: 1 });
    expect(damaged!.lastError).toMatch(/^the target's password could not be opened/);
    expect(damaged!.lastError).not.toContain('secret');
  });

  it('lets operators and workspace admins change targets, readers of the workspace list them, others see no workspace', async () => {
    const { slug, api } = await world(model);
    const admin = unique('admin');
    const reader = unique('reader');
    const outsider = unique('outsider');
    await model.workspaces.addAdmin(slug, admin, TEST_ORIGIN);
    await model.memberships.set(api.id, reader, 'read', TEST_ORIGIN);
    const as = (userId: string, operator = false): { callers: CallerResolver; ctx: CallContext } => {
      const caller: Caller = { userId, email: `${userId}@example.test`, tokenId: '', sessionId: '', operator };
      return {
        callers: { changer: () => caller, reader: () => caller, writer: () => caller } as unknown as CallerResolver,
        ctx: { requestId: 'r', logger: createLogger({ service: 'test', level: 'silent' }), metadata: new Metadata(), signal: new AbortController().signal, peer: '' },
      };
    };
    const call = (userId: string, operator = false) => {
      const { callers, ctx } = as(userId, operator);
      const handlers = replicationHandlers(model, callers);
      return {
        create: () => handlers.createReplicationTarget({ workspaceSlug: slug, name: unique('t'), url: 'https://r.example.test', username: '', password: '', packagePattern: '*', destinationPrefix: '' }, ctx),
        list: () => handlers.listReplicationTargets({ workspaceSlug: slug }, ctx),
      };
    };
    const operatorMade = await call('root', true).create();
    expect(operatorMade.target?.enabled).toBe(true);
    await expect(call(reader).create()).rejects.toMatchObject({ code: 'DENIED' });
    await expect(call(outsider).create()).rejects.toMatchObject({ code: 'DENIED' });
    expect((await call(reader).list()).targets.map((t) => t.name)).toEqual([operatorMade.target!.name]);
    await expect(call(outsider).list()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await call(admin).create()).target?.name).toMatch(/^t-/);
  });
});
