import type { Pool } from 'pg';
import { recordAudit, type AuditEntry, type AuditOrigin } from '@ocireg/audit';
import type { Logger } from '@ocireg/logger';

/**
 * Credentials made, changed or used in ways an audit must see: who did it
 * (`actor`, a user id; "" when no person did) and what it grants. Secrets
 * never appear here.
 */
export type CredentialEvent =
  | { kind: 'repository-token.created'; actor: string; tokenId: string; sourceRepositoryId: string; scopes: string[]; expiresAt: string; parentTokenId: string }
  | { kind: 'repository-token.revoked'; actor: string; sourceRepositoryId: string; tokenIds: string[] }
  | { kind: 'service-account.created'; actor: string; serviceAccountId: string; workspace: string; name: string }
  | { kind: 'service-account.deleted'; actor: string; serviceAccountId: string; workspace: string; revokedTokenIds: string[] }
  | { kind: 'service-account-token.created'; actor: string; serviceAccountId: string; workspace: string; tokenId: string; scopes: string[]; expiresAt: string }
  | { kind: 'service-account-token.revoked'; actor: string; serviceAccountId: string; workspace: string; tokenIds: string[] }
  | { kind: 'trusted-issuer.created'; actor: string; workspace: string; trustedIssuerId: string; issuerUrl: string; repositoryClaim: string; mappings: unknown[] }
  | { kind: 'trusted-issuer.deleted'; actor: string; workspace: string; trustedIssuerId: string }
  /** A CI job logged in with its ID token: the claims that granted it, and what they granted. */
  /** A person signed in to the web UI: with a password, or through an identity provider (with what its groups gave). */
  | { kind: 'sign-in'; actor: string; provider: string; sessionId: string; email: string; subject?: string; createdUser?: boolean; groups?: string[]; grantsApplied?: number; grantsSkipped?: string[]; clientIp: string }
  /** An identity provider's sign-in refused (unverified email, a state unknown or used, the provider's error). */
  | { kind: 'sign-in.refused'; actor: string; provider: string; reason: string; clientIp: string }
  | { kind: 'sign-out'; actor: string; provider: string; sessionId: string }
  | { kind: 'ci.login'; actor: string; workspace: string; trustedIssuerId: string; sourceRepositoryId: string; pullSourceRepositoryIds: string[]; expiresAt: string; claims: Record<string, unknown>; clientIp: string };

/**
 * The one function every credential event goes through: a structured log
 * line. Changes are audited where they are made, in their transactions
 * (token-store, session-store); `audit` writes the rows of events that change
 * nothing else (a CI job's login), each in a transaction of its own.
 */
export class CredentialEvents {
  constructor(
    private readonly logger: Logger,
    private readonly pool?: Pool,
  ) {}

  async audit(origin: AuditOrigin, change: AuditEntry): Promise<void> {
    if (this.pool) await recordAudit(this.pool, origin, change);
  }

  record(event: CredentialEvent, requestId = ''): void {
    this.logger.info({ credentialEvent: event, requestId }, `credential event: ${event.kind}`);
  }
}
