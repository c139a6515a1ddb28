import { describe, expect, it } from 'vitest';
import { nextAttemptAt } from './delivery-worker';
import { signatureHeader, verifySignature } from './signature';
import { hookWants, patternMatches, webhookEventOf } from './webhook-events';

describe('webhook events', () => {
  const event = { schemaVersion: 1 as const, id: 'ev-1', time: '2026-12-01T10:00:00.000Z', action: 'tag.updated' as const, target: { workspace: 'acme', repository: 'acme/tools/api', package: 'tools/api', digest: 'sha256:aa', tag: 'v1' }, actor: 'u1', requestId: 'r1' };

  it('are CloudEvents 1.0 in structured JSON with the registry event id', () => {
    const out = webhookEventOf(event)!;
    expect(out).toMatchObject({ id: 'ev-1', type: 'tag.moved', packageName: 'tools/api', workspace: 'acme' });
    expect(JSON.parse(out.body)).toMatchObject({ specversion: '1.0', id: 'ev-1', type: 'io.ocireg.tag.moved', source: '/workspaces/acme', subject: 'acme/tools/api:v1', time: event.time, data: { tag: 'v1', digest: 'sha256:aa', package: 'tools/api' } });
    expect(webhookEventOf({ ...event, action: 'manifest.described' })).toBeUndefined();
  });

  it('carry the figures of retention.applied and quota.nearly-full in their data', () => {
    const applied = webhookEventOf({ ...event, action: 'retention.applied', target: { workspace: 'acme', repository: 'acme/tools/api', package: 'tools/api', summary: { deletedTags: 3, deletedManifests: 2, skipped: 0, bytes: 4096, confirmed: false } } })!;
    expect(applied.type).toBe('retention.applied');
    expect(JSON.parse(applied.body)).toMatchObject({ type: 'io.ocireg.retention.applied', subject: 'acme/tools/api', data: { package: 'tools/api', deletedTags: 3, deletedManifests: 2, bytes: 4096, confirmed: false } });
    const full = webhookEventOf({ ...event, action: 'quota.nearly-full', target: { workspace: 'acme', repository: 'acme/tools/api', package: 'tools/api', digest: 'sha256:bb', summary: { usedBytes: 950, quotaBytes: 1000, percent: 95 } } })!;
    expect(JSON.parse(full.body)).toMatchObject({ type: 'io.ocireg.quota.nearly-full', data: { workspace: 'acme', usedBytes: 950, quotaBytes: 1000, percent: 95, digest: 'sha256:bb' } });
  });

  it('match a hook by type and package pattern', () => {
    expect(patternMatches('tools/*', 'tools/api')).toBe(true);
    expect(patternMatches('tools/*', 'tools/api/x')).toBe(false);
    expect(patternMatches('tools/**', 'tools/api/x')).toBe(true);
    expect(patternMatches('api', 'tools/api')).toBe(false);
    expect(patternMatches('a.b', 'axb')).toBe(false);
    expect(hookWants({ eventTypes: [], packagePatterns: [] }, { type: 'tag.moved', packageName: 'x' })).toBe(true);
    expect(hookWants({ eventTypes: ['image.pushed'], packagePatterns: [] }, { type: 'tag.moved', packageName: 'x' })).toBe(false);
    expect(hookWants({ eventTypes: ['tag.moved'], packagePatterns: ['tools/*'] }, { type: 'tag.moved', packageName: 'tools/api' })).toBe(true);
  });

  it('are signed with HMAC-SHA256 over timestamp and body, by both secrets during a rotation', () => {
    const header = signatureHeader(['new', 'old'], 1_700_000_000, 'body');
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    const now = 1_700_000_000_000;
    expect(verifySignature(header, 'new', 'body', 300, now)).toBe(true);
    expect(verifySignature(header, 'old', 'body', 300, now)).toBe(true);
    expect(verifySignature(header, 'other', 'body', 300, now)).toBe(false);
    expect(verifySignature(header, 'new', 'body!', 300, now)).toBe(false);
    expect(verifySignature(header, 'new', 'body', 300, now + 301_000)).toBe(false);
  });

  it('are retried with exponential backoff and jitter, given up after the retry period', () => {
    const policy = { baseMs: 1000, retryForMs: 86_400_000, maxDelayMs: 3_600_000 };
    const created = new Date(0);
    const delays = [1, 2, 3, 4].map((n) => nextAttemptAt(policy, n, created, 0, () => 1)!.getTime());
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
    expect(nextAttemptAt(policy, 3, created, 0, () => 0)!.getTime()).toBe(2000);
    expect(nextAttemptAt(policy, 40, created, 0, () => 1)!.getTime()).toBe(3_600_000);
    expect(nextAttemptAt(policy, 5, created, 86_399_000, () => 1)).toBeUndefined();
  });
});
