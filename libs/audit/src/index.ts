export * from './audit-entry';
export { recordAudit } from './record-audit';
export { SecretInAuditEntry } from './bounded-fields';
export { AuditQuery, type AuditFilter, type AuditPage } from './audit-query';
export { verifyAuditLog, type AuditVerification, type AuditProblem, type ChainReport } from './audit-verify';
export { pruneAuditLog, MIN_RETENTION_DAYS } from './audit-retention';
export { migrateAuditLog, AUDIT_MIGRATIONS_DIR } from './audit-migrations';
export { entryDigest, canonicalJson } from './entry-digest';
