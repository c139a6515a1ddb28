import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { basicAuth, newWorkspace, startTestRegistry } from './helpers';
import { OciHttp } from './oci-http';

/**
 * Manifests by tag while many clients pull at once (the gateway batches their
 * lookups into one metadata call, see services/gateway/src/oci/tag-lookups.ts):
 * a pull that starts after a push moved the tag never gets the manifest from
 * before, and lookups of other tags in the same batches get their own answers.
 */
describe('a tag pulled by many clients while pushes move it', () => {
  let registry: RunningRegistry;
  let oci: OciHttp;
  let repository: string;
  let authorization: string;

  beforeAll(async () => {
    registry = await startTestRegistry();
    const workspace = await newWorkspace(registry, 'tags');
    repository = `${workspace.slug}/moving`;
    authorization = basicAuth(workspace.admin);
    oci = new OciHttp(registry.gatewayUrl, authorization);
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
  });

  it('answers every HEAD and GET that starts after a move with the new digest or a later one', async () => {
    const moves: Array<{ digest: string; returnedAt: number }> = [];
    const steady = await oci.pushImage(repository, 'steady');
    const first = await oci.pushImage(repository, 'live');
    moves.push({ digest: first.manifest.digest, returnedAt: performance.now() });
    // One token for all readers, as docker uses one per pull.
    const tokenResponse = await fetch(`${registry.gatewayUrl}/v2/token?service=ocireg&scope=${encodeURIComponent(`repository:${repository}:pull`)}`, { headers: { Authorization: authorization } });
    const token = ((await tokenResponse.json()) as { token: string }).token;
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/vnd.oci.image.manifest.v1+json' };

    const answers: Array<{ startedAt: number; digest: string; status: number }> = [];
    const others: Array<{ tag: string; digest: string; status: number }> = [];
    let running = true;
    const reader = async (method: 'GET' | 'HEAD', tag: string) => {
      while (running) {
        const startedAt = performance.now();
        const response = await fetch(`${registry.gatewayUrl}/v2/${repository}/manifests/${tag}`, { method, headers });
        if (method === 'GET') await response.arrayBuffer();
        const answer = { startedAt, digest: response.headers.get('docker-content-digest') ?? '', status: response.status };
        if (tag === 'live') answers.push(answer);
        else others.push({ tag, ...answer });
      }
    };
    // Readers of a tag that stays, and of one that does not exist, share the batches of the moving tag's.
    const readers = [
      ...Array.from({ length: 16 }, (_, i) => reader(i % 2 === 0 ? 'GET' : 'HEAD', 'live')),
      ...Array.from({ length: 4 }, (_, i) => reader(i % 2 === 0 ? 'GET' : 'HEAD', i < 2 ? 'steady' : 'absent')),
    ];
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const pushed = await oci.pushImage(repository, 'live');
      moves.push({ digest: pushed.manifest.digest, returnedAt: performance.now() });
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    running = false;
    await Promise.all(readers);

    const order = new Map(moves.map((move, index) => [move.digest, index]));
    expect(order.size).toBe(moves.length);
    const stale = answers.filter((answer) => {
      const movedBefore = moves.filter((move) => move.returnedAt < answer.startedAt).length - 1;
      return answer.status !== 200 || (order.get(answer.digest) ?? -1) < movedBefore;
    });
    expect(stale).toEqual([]);
    // The load was real: many reads between the moves, and each move was seen.
    expect(answers.length).toBeGreaterThan(200);
    for (const move of moves) expect(answers.some((answer) => answer.digest === move.digest), move.digest).toBe(true);
    const wrong = others.filter((answer) => (answer.tag === 'steady' ? answer.status !== 200 || answer.digest !== steady.manifest.digest : answer.status !== 404));
    expect(wrong).toEqual([]);
    expect(others.filter((answer) => answer.tag === 'absent').length).toBeGreaterThan(10);
  });
});
