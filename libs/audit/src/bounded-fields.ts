import type { Summary, SummaryValue } from './audit-entry';

/** Longest text column value kept (user agents are the longest that matter). */
const MAX_TEXT = 300;
/** Strings inside a summary, entries of its lists, and its depth. */
const MAX_SUMMARY_STRING = 300;
const MAX_LIST_ENTRIES = 20;
const MAX_DEPTH = 4;
/** A summary larger than this as JSON keeps only its scalar fields. */
const MAX_SUMMARY_BYTES = 4096;

/**
 * Keys that would name a secret. A summary holding one is a bug in the
 * caller (the audit log never holds a secret), so recording it fails loudly
 * in tests rather than storing it.
 */
const SECRET_KEY = /secret|password|passphrase|pepper|credential|private.?key|cookie|^token$|authorization/i;

export class SecretInAuditEntry extends Error {
  constructor(key: string) {
    super(`audit entries never hold secrets: the summary field "${key}" names one; record what it is about (an id, a name), not the secret`);
  }
}

/** Text as stored: no C0 control characters (PostgreSQL's text holds no NUL), at most `max` characters. */
export function boundText(value: string | undefined, max = MAX_TEXT): string {
  // eslint-disable-next-line no-control-regex
  const clean = (value ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ');
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

/**
 * A summary as stored: strings bounded, long lists cut to their first
 * entries with `<key>Total` beside them, nested no deeper than a few levels,
 * only finite numbers; undefined for none. Refuses keys that name secrets.
 */
export function boundSummary(summary: Summary | undefined): Summary | null {
  if (!summary) return null;
  const bounded = boundObject(summary, 1);
  if (Buffer.byteLength(JSON.stringify(bounded)) <= MAX_SUMMARY_BYTES) return bounded;
  const scalars: Summary = { truncated: true };
  for (const [key, value] of Object.entries(bounded)) if (value === null || typeof value !== 'object') scalars[key] = value;
  return scalars;
}

function boundObject(value: { [key: string]: SummaryValue | undefined }, depth: number): Summary {
  const out: Summary = {};
  for (const [key, entry] of Object.entries(value)) {
    if (SECRET_KEY.test(key)) throw new SecretInAuditEntry(key);
    if (entry === undefined) continue;
    if (Array.isArray(entry) && entry.length > MAX_LIST_ENTRIES) out[`${key}Total`] = entry.length;
    out[boundText(key, 64)] = boundValue(entry, depth);
  }
  return out;
}

function boundValue(value: SummaryValue, depth: number): SummaryValue {
  if (typeof value === 'string') return boundText(value, MAX_SUMMARY_STRING);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean' || value === null) return value;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) return value.slice(0, MAX_LIST_ENTRIES).map((entry) => boundValue(entry, depth + 1));
  return boundObject(value, depth + 1);
}
