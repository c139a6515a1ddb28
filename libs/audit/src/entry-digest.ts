import { createHash } from 'node:crypto';
import type { Summary, SummaryValue } from './audit-entry';

/** The columns of a row that its digest covers, as stored (after bounding). */
export interface DigestedFields {
  chain: string;
  at: Date;
  actorUserId: string;
  actorEmail: string;
  actorTokenId: string;
  actorSessionId: string;
  actorService: string;
  channel: string;
  clientAddress: string;
  userAgent: string;
  requestId: string;
  action: string;
  outcome: string;
  workspace: string;
  targetType: string;
  targetId: string;
  targetName: string;
  before: Summary | null;
  after: Summary | null;
}

/**
 * SHA-256 of a row's canonical content: its fields in a fixed order as JSON,
 * object keys sorted at every depth (jsonb reorders keys, so the digest of a
 * row read back equals the digest written). The chain's hash is
 * sha256(previous hash || this digest), computed by the database on insert.
 */
export function entryDigest(fields: DigestedFields): Buffer {
  const canonical = canonicalJson([
    fields.chain,
    fields.at.toISOString(),
    fields.actorUserId,
    fields.actorEmail,
    fields.actorTokenId,
    fields.actorSessionId,
    fields.actorService,
    fields.channel,
    fields.clientAddress,
    fields.userAgent,
    fields.requestId,
    fields.action,
    fields.outcome,
    fields.workspace,
    fields.targetType,
    fields.targetId,
    fields.targetName,
    fields.before,
    fields.after,
  ]);
  return createHash('sha256').update(canonical).digest();
}

/** The next hash of a chain: what the database's trigger computes (sha256(prev || digest)). */
export function chainedHash(previous: Buffer, digest: Buffer): Buffer {
  return createHash('sha256').update(previous).update(digest).digest();
}

export function canonicalJson(value: SummaryValue | SummaryValue[]): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key]!)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
