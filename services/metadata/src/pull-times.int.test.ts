import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import type { MetadataModel } from './metadata-model';
import { digestOf, uniqueRepository, withTestbed, TEST_ORIGIN } from './metadata-testbed';
import { pullTimeHandlers } from './pull-time-handlers';
import { MAX_PULL_TIME_LOOKUPS, MAX_PULLS_PER_CALL } from './pull-times';

const MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const at = (iso: string) => new Date(iso);

describe('last-pulled times against PostgreSQL (RecordPulls, ListPullTimes)', () => {
  let model: MetadataModel;
  let pool: Pool;
  withTestbed((testbed) => ({ model, pool } = testbed));

  const push = async (repository: string, tags: string[], text: string) => {
    const content = Buffer.from(`{"schemaVersion":2,"annotations":{"t":"${text}"}}`);
    await model.manifests.put({ origin: TEST_ORIGIN, repository, tags, digest: digestOf(content), mediaType: MEDIA_TYPE, content, blobDigests: [], manifestDigests: [] });
    return digestOf(content);
  };
  const rowsOf = async (repository: string) => {
    const tags = await pool.query<{ name: string; last_pulled_at: Date | null }>('SELECT name, last_pulled_at FROM tags WHERE repository = $1 ORDER BY name', [repository]);
    const manifests = await pool.query<{ digest: string; last_pulled_at: Date | null }>('SELECT digest, last_pulled_at FROM manifests WHERE repository = $1', [repository]);
    return {
      tags: Object.fromEntries(tags.rows.map((r) => [r.name, r.last_pulled_at?.toISOString() ?? null])),
      manifests: Object.fromEntries(manifests.rows.map((r) => [r.digest, r.last_pulled_at?.toISOString() ?? null])),
    };
  };

  it('a pull by tag moves the tag and its manifest; a pull by digest only the manifest; the rest stay never pulled', async () => {
    const repository = uniqueRepository();
    const one = await push(repository, ['v1', 'stable'], 'one');
    const two = await push(repository, ['v2'], 'two');
    const untouched = await push(repository, ['v3'], 'three');
    const result = await model.pullTimes.record([
      { repository, tag: 'v1', digest: one, pulledAt: at('2024-05-01T10:00:00.000Z') },
      { repository, tag: '', digest: two, pulledAt: at('2024-05-02T10:00:00.000Z') },
    ]);
    expect(result).toEqual({ tagsUpdated: 1, manifestsUpdated: 2 });
    expect(await rowsOf(repository)).toEqual({
      tags: { v1: '2024-05-01T10:00:00.000Z', stable: null, v2: null, v3: null },
      manifests: { [one]: '2024-05-01T10:00:00.000Z', [two]: '2024-05-02T10:00:00.000Z', [untouched]: null },
    });
  });

  it('times only move forward, across batches and within one (duplicates fold to the latest)', async () => {
    const repository = uniqueRepository();
    const digest = await push(repository, ['latest'], 'forward');
    await model.pullTimes.record([{ repository, tag: 'latest', digest, pulledAt: at('2024-06-10T00:00:00.000Z') }]);
    // An older batch arriving late (another gateway's, or a retry) changes nothing.
    expect(await model.pullTimes.record([{ repository, tag: 'latest', digest, pulledAt: at('2024-06-01T00:00:00.000Z') }])).toEqual({ tagsUpdated: 0, manifestsUpdated: 0 });
    expect((await rowsOf(repository)).tags.latest).toBe('2024-06-10T00:00:00.000Z');
    // One batch naming the same tag and manifest several times: the latest wins, whatever the order.
    await model.pullTimes.record([
      { repository, tag: 'latest', digest, pulledAt: at('2024-06-12T00:00:00.000Z') },
      { repository, tag: '', digest, pulledAt: at('2024-06-15T00:00:00.000Z') },
      { repository, tag: 'latest', digest, pulledAt: at('2024-06-14T00:00:00.000Z') },
      { repository, tag: 'latest', digest, pulledAt: at('2024-06-11T00:00:00.000Z') },
    ]);
    expect(await rowsOf(repository)).toEqual({ tags: { latest: '2024-06-14T00:00:00.000Z' }, manifests: { [digest]: '2024-06-15T00:00:00.000Z' } });
  });

  it('a time in the future (a gateway clock ahead) counts as the database now', async () => {
    const repository = uniqueRepository();
    const digest = await push(repository, ['v1'], 'future');
    const before = Date.now();
    await model.pullTimes.record([{ repository, tag: 'v1', digest, pulledAt: new Date(Date.now() + 86_400_000) }]);
    const stored = Date.parse((await rowsOf(repository)).tags.v1!);
    expect(stored).toBeGreaterThanOrEqual(before - 5_000);
    expect(stored).toBeLessThanOrEqual(Date.now() + 5_000);
  });

  it('ignores pulls of tags and manifests that do not exist (any more), recording the rest of the batch', async () => {
    const repository = uniqueRepository();
    const kept = await push(repository, ['kept'], 'kept');
    const gone = await push(repository, ['gone'], 'gone');
    await model.deletions.deleteTag(repository, 'gone', TEST_ORIGIN);
    const result = await model.pullTimes.record([
      { repository, tag: 'gone', digest: gone, pulledAt: at('2024-07-01T00:00:00.000Z') }, // the tag went; its manifest stays
      { repository, tag: 'never-was', digest: kept, pulledAt: at('2024-07-01T00:00:00.000Z') },
      { repository: uniqueRepository(), tag: 'kept', digest: kept, pulledAt: at('2024-07-01T00:00:00.000Z') },
      { repository, tag: '', digest: digestOf('no such manifest'), pulledAt: at('2024-07-01T00:00:00.000Z') },
      { repository, tag: 'kept', digest: kept, pulledAt: at('2024-07-02T00:00:00.000Z') },
    ]);
    expect(result.tagsUpdated).toBe(1);
    const rows = await rowsOf(repository);
    expect(rows.tags).toEqual({ kept: '2024-07-02T00:00:00.000Z' });
    expect(rows.manifests[kept]).toBe('2024-07-02T00:00:00.000Z');
    // The manifest served for the tag that went was pulled: it still exists (untagged) and records it.
    expect(rows.manifests[gone]).toBe('2024-07-01T00:00:00.000Z');
  });

  it('pushing again (moving a tag) keeps the times already recorded', async () => {
    const repository = uniqueRepository();
    const first = await push(repository, ['v1'], 'first');
    await model.pullTimes.record([{ repository, tag: 'v1', digest: first, pulledAt: at('2024-08-01T00:00:00.000Z') }]);
    const second = await push(repository, ['v1'], 'second');
    const rows = await rowsOf(repository);
    expect(rows.tags.v1).toBe('2024-08-01T00:00:00.000Z');
    expect(rows.manifests[first]).toBe('2024-08-01T00:00:00.000Z');
    expect(rows.manifests[second]).toBeNull();
  });

  it('lists the times of the tags and digests asked about, leaving out the never pulled', async () => {
    const repository = uniqueRepository();
    const one = await push(repository, ['v1'], 'list-one');
    const two = await push(repository, ['v2'], 'list-two');
    await model.pullTimes.record([{ repository, tag: 'v1', digest: one, pulledAt: at('2024-09-01T00:00:00.000Z') }]);
    const found = await model.pullTimes.of(repository, ['v1', 'v2', 'nope'], [one, two]);
    expect(Object.fromEntries([...found.tags].map(([k, v]) => [k, v.toISOString()]))).toEqual({ v1: '2024-09-01T00:00:00.000Z' });
    expect(Object.fromEntries([...found.manifests].map(([k, v]) => [k, v.toISOString()]))).toEqual({ [one]: '2024-09-01T00:00:00.000Z' });
    const none = await model.pullTimes.of(repository, [], []);
    expect(none.tags.size + none.manifests.size).toBe(0);
  });

  it('the gRPC handlers speak RFC 3339 and refuse bad input with INVALID_ARGUMENT, never a 500', async () => {
    const handlers = pullTimeHandlers(model.pullTimes);
    const repository = uniqueRepository();
    const digest = await push(repository, ['v1'], 'grpc');
    const call = (pulls: Array<{ name: string; tag: string; digest: string; pulledAt: string }>) => handlers.recordPulls({ pulls }, undefined as never);
    expect(await call([{ name: repository, tag: 'v1', digest, pulledAt: '2024-10-01T12:00:00.000Z' }])).toEqual({ tagsUpdated: 1, manifestsUpdated: 1 });
    expect(await handlers.listPullTimes({ name: repository, tags: ['v1'], digests: [digest] }, undefined as never)).toEqual({
      tags: [{ reference: 'v1', lastPulledAt: '2024-10-01T12:00:00.000Z' }],
      manifests: [{ reference: digest, lastPulledAt: '2024-10-01T12:00:00.000Z' }],
    });
    expect(await call([])).toEqual({ tagsUpdated: 0, manifestsUpdated: 0 });
    const good = { name: repository, tag: 'v1', digest, pulledAt: '2024-10-01T12:00:00Z' };
    const bad: Array<Partial<typeof good>> = [
      { pulledAt: '' },
      { pulledAt: 'yesterday' },
      { pulledAt: '2024-13-45T99:00:00Z' },
      { pulledAt: '\u0000' },
      { name: '' },
      { name: 'NoWorkspace' },
      { name: `a/${'x'.repeat(1 << 20)}` },
      { name: 'a\u0000b/c' },
      { tag: 'bad tag!' },
      { tag: '\ud800' },
      { digest: '' },
      { digest: 'sha256:short' },
      { digest: '../../etc/passwd' },
    ];
    for (const change of bad) {
      const refused = await call([{ ...good, ...change }]).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused, JSON.stringify(change).slice(0, 80)).toMatchObject({ grpcStatus: status.INVALID_ARGUMENT });
    }
    await expect(call(Array.from({ length: MAX_PULLS_PER_CALL + 1 }, () => good))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(handlers.listPullTimes({ name: repository, tags: Array.from({ length: MAX_PULL_TIME_LOOKUPS + 1 }, () => 'v1'), digests: [] }, undefined as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(handlers.listPullTimes({ name: repository, tags: ['bad tag!'], digests: [] }, undefined as never)).rejects.toMatchObject({ grpcStatus: status.INVALID_ARGUMENT });
    // Nothing of the refused batches was recorded.
    expect((await rowsOf(repository)).tags.v1).toBe('2024-10-01T12:00:00.000Z');
  });
});
