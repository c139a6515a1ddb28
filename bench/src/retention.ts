import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { createPushableWorkspace, createUserWithToken, startRegistry, type RunningRegistry } from '@ocireg/devstack';
import { createGrpcClient, unaryCall } from '@ocireg/grpc';
import { admin, retention } from '@ocireg/proto';
import { startDependencies } from '@ocireg/testenv';

/**
 * Retention at scale (docs/lifecycle-retention.md): one package of TAGS tags
 * over MANIFESTS manifests, generated straight in PostgreSQL (pushing them
 * through the API would take an hour), four rules (keep-latest, keep-recent,
 * protect, delete-untagged), and the evaluation timed through the admin API
 * (PreviewRetention: reading the package's facts, evaluating, answering) while
 * a client pushes images into the same package beside it. Goal: under 10 s.
 */
const TAGS = Number(process.env.BENCH_RETENTION_TAGS ?? 100_000);
const MANIFESTS = Number(process.env.BENCH_RETENTION_MANIFESTS ?? 25_000);
const RUNS = Number(process.env.BENCH_RETENTION_RUNS ?? 3);
const GOAL_SECONDS = 10;

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'ocireg-bench-retention-'));
  say(`starting PostgreSQL and the services (embedded mode) in ${work} ...`);
  const dependencies = await startDependencies({ only: ['postgres'] });
  let registry: RunningRegistry | undefined;
  try {
    // The online loop off: the benchmark times the evaluation it asks for.
    registry = await startRegistry({ dependencyEnv: { DATABASE_URL: dependencies.env.DATABASE_URL!, DATA_DIR: path.join(work, 'data') }, logDir: path.join(work, 'logs'), extraEnv: { RETENTION_ENABLED: 'false' } });
    const slug = 'bench';
    const { sourceRepositoryId } = await createPushableWorkspace(registry.adminAddress, slug, registry.operator.authorization);
    const options = { authorization: registry.operator.authorization };
    const adminClient = createGrpcClient(admin.AdminServiceClient, registry.adminAddress, { kind: 'public' });
    const client = createGrpcClient(retention.RetentionServiceClient, registry.adminAddress, { kind: 'public' });
    try {
      await unaryCall(adminClient.createPackage.bind(adminClient), { requestId: '', workspaceSlug: slug, name: 'big', sourceRepositoryId, actorUserId: '' }, options);
      const pool = new Pool({ connectionString: dependencies.env.DATABASE_URL });
      const seeding = performance.now();
      await seed(pool, `${slug}/big`);
      await pool.end();
      say(`seeded ${TAGS.toLocaleString('en')} tags over ${MANIFESTS.toLocaleString('en')} manifests in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);

      const scope = { level: 'package', workspaceSlug: slug, projectSlug: '', sourceRepositoryId: '', packageName: 'big' };
      for (const rule of [
        { kind: 'keep-latest', pattern: 'dev-*', count: 1000, days: 0 },
        { kind: 'keep-recent', pattern: '*', count: 0, days: 30 },
        { kind: 'protect', pattern: 'v*', count: 0, days: 0 },
        { kind: 'delete-untagged', pattern: '', count: 0, days: 14 },
      ])
        await unaryCall(client.createRetentionRule.bind(client), { scope, ...rule }, options);

      const pusher = await createUserWithToken(registry.adminAddress, { email: 'pusher@bench.example', scopes: ['read:package', 'write:package'], sourceRepositoryId, role: 'write' }, registry.operator.authorization);
      const pushes = startPushes(registry, `Basic ${Buffer.from(`${pusher.email}:${pusher.token}`).toString('base64')}`, `${slug}/big`);
      const seconds: number[] = [];
      let last: retention.RetentionPackagePreview | undefined;
      try {
        for (let run = 0; run < RUNS; run++) {
          const started = performance.now();
          const answer = await unaryCall(client.previewRetention.bind(client), { scope }, { ...options, deadlineMs: 120_000 });
          seconds.push((performance.now() - started) / 1000);
          last = answer.packages[0];
        }
      } finally {
        await pushes.stop();
      }
      say('');
      say(`retention preview of one package over ${last?.tagsTotal.toLocaleString('en')} tags (4 rules), ${RUNS} runs, with pushes running beside it:`);
      say(`  evaluation times: ${seconds.map((s) => `${s.toFixed(2)} s`).join(', ')} (best ${Math.min(...seconds).toFixed(2)} s, worst ${Math.max(...seconds).toFixed(2)} s; goal under ${GOAL_SECONDS} s)`);
      say(`  would delete ${last?.deleteTagsTotal.toLocaleString('en')} tags and ${last?.deleteManifestsTotal.toLocaleString('en')} manifests, freeing about ${((last?.bytes ?? 0) / 1e6).toFixed(1)} MB`);
      say(`  pushes beside it: ${pushes.count()} images pushed (${pushes.failures()} failed)`);
      if (Math.max(...seconds) >= GOAL_SECONDS) process.exitCode = 1;
    } finally {
      client.close();
      adminClient.close();
    }
  } finally {
    await registry?.stop();
    await dependencies.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** TAGS tags (a quarter each v*, dev-*, pr-*, build-*) over MANIFESTS manifests, pushed over 400 days, a tenth pulled lately. */
async function seed(pool: Pool, repository: string): Promise<void> {
  const digest = (expression: string) => `'sha256:' || encode(sha256(convert_to(${expression}, 'UTF8')), 'hex')`;
  await pool.query(`INSERT INTO blobs (digest, size, storage_key) SELECT ${digest("'b' || i")}, 1000000 + i, 'bench/' || i FROM generate_series(1, $1::int) i ON CONFLICT DO NOTHING`, [MANIFESTS]);
  await pool.query(
    `INSERT INTO manifests (repository, digest, media_type, content, size, created_at)
     SELECT $1, ${digest("'m' || i")}, 'application/vnd.oci.image.manifest.v1+json', convert_to('{}', 'UTF8'), 1000 + i % 500, now() - (i % 400) * interval '1 day'
     FROM generate_series(1, $2::int) i`,
    [repository, MANIFESTS],
  );
  await pool.query(
    `INSERT INTO manifest_references (repository, manifest_digest, referenced_digest, kind)
     SELECT $1, ${digest("'m' || i")}, ${digest("'b' || i")}, 'blob' FROM generate_series(1, $2::int) i`,
    [repository, MANIFESTS],
  );
  await pool.query(
    `INSERT INTO tags (repository, name, digest, updated_at, last_pulled_at)
     SELECT $1, (ARRAY['v', 'dev-', 'pr-', 'build-'])[i % 4 + 1] || i, ${digest("'m' || (i % $3::int + 1)")},
            now() - random() * 400 * interval '1 day', CASE WHEN i % 10 = 0 THEN now() - random() * 60 * interval '1 day' END
     FROM generate_series(1, $2::int) i`,
    [repository, TAGS, MANIFESTS],
  );
  await pool.query('ANALYZE tags; ANALYZE manifests; ANALYZE manifest_references');
}

/** Pushes small images (a config, a layer, a manifest) one after another until stopped. */
function startPushes(registry: RunningRegistry, authorization: string, repository: string) {
  let stopped = false;
  let count = 0;
  let failures = 0;
  const base = `${registry.gatewayUrl}/v2/${repository}`;
  const pushBlob = async (content: Buffer): Promise<{ digest: string; size: number }> => {
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const started = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers: { Authorization: authorization } });
    if (started.status !== 202) throw new Error(`upload start answered ${started.status}`);
    const location = new URL(started.headers.get('location')!, registry!.gatewayUrl);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', headers: { Authorization: authorization, 'Content-Type': 'application/octet-stream' }, body: content });
    if (put.status !== 201) throw new Error(`upload answered ${put.status}`);
    return { digest, size: content.length };
  };
  const loop = (async () => {
    while (!stopped) {
      try {
        const config = await pushBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: randomBytes(8).toString('hex') })));
        const layer = await pushBlob(randomBytes(4096));
        const manifest = JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
        });
        const put = await fetch(`${base}/manifests/push-${count}`, { method: 'PUT', headers: { Authorization: authorization, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
        if (put.status !== 201) throw new Error(`manifest answered ${put.status}`);
        count++;
      } catch {
        failures++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  })();
  return {
    count: () => count,
    failures: () => failures,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
