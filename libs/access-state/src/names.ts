/**
 * Every name the access state lives under, in one place (auth, metadata and
 * the gateway used to declare their own copies).
 */

/** Redis names: unchanged from before this library, so running deployments keep their state. */
export const REDIS_NAMES = {
  /** Sorted set of revoked token ids, scored by when the token would have expired (epoch ms). */
  revokedTokens: 'ocireg:revoked-tokens',
  /** Message: the revoked token id. */
  revocationChannel: 'ocireg:revocations',
  /** Hash: subject -> when its access last changed (epoch ms). */
  accessEpochs: 'ocireg:access-epochs',
  /** Message: "<subject> <epoch ms>" (see accessMessage). */
  accessChannel: 'ocireg:access-changed',
} as const;

/** PostgreSQL names: tables created by the library itself, channels for LISTEN/NOTIFY (same messages as Redis). */
export const POSTGRES_NAMES = {
  revokedTokens: 'access_state_revoked_tokens',
  accessEpochs: 'access_state_epochs',
  revocationChannel: 'ocireg_revocations',
  accessChannel: 'ocireg_access_changed',
  /** Serialises the CREATE TABLE IF NOT EXISTS of replicas starting together (they can otherwise collide in the catalog). */
  schemaLockKey: 7_130_461_250_001,
} as const;

/**
 * What changed: a user's access ("user:<id>"), everyone's in a workspace
 * ("workspace:<slug>"), or the content of a workspace ("content:<slug>":
 * manifests or blob links removed, so caches of what it holds are stale;
 * no registry token is affected).
 */
export type AccessSubject = `user:${string}` | `workspace:${string}` | `content:${string}`;

/** The workspace a "content:<slug>" subject names, or undefined for other subjects. */
export function contentWorkspace(subject: string): string | undefined {
  return subject.startsWith('content:') ? subject.slice('content:'.length) : undefined;
}

export function accessMessage(subject: string, epochMs: number): string {
  return `${subject} ${epochMs}`;
}

export function parseAccessMessage(message: string): { subject: string; epochMs: number } | undefined {
  const space = message.lastIndexOf(' ');
  const subject = message.slice(0, space);
  const epochMs = Number(message.slice(space + 1));
  return space > 0 && Number.isFinite(epochMs) && epochMs > 0 ? { subject, epochMs } : undefined;
}
