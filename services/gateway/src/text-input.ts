import { RegistryError } from '@ocireg/errors';

/**
 * The one check of the text callers send, made at the edge (the JSON API, the
 * admin port, /v2 and the token endpoint) before a string goes anywhere:
 *
 * - no NUL and no other C0 control character or DEL: PostgreSQL's text cannot
 *   hold a NUL (it answered 500, "invalid byte sequence"), and the rest have
 *   no place in names, emails, tokens or passwords;
 * - well-formed UTF-16, no lone surrogate: Node strings can hold one, UTF-8
 *   cannot (it would silently turn into U+FFFD on the way);
 * - at most the field's length, so a megabyte never travels further.
 *
 * A refusal is 400 / INVALID_ARGUMENT with `detail: {field}`; the message
 * says what is wrong and where, never echoing the value.
 */

/** Characters, for fields not listed in FIELD_LIMITS: above any name, email or id this API takes. */
export const DEFAULT_MAX_LENGTH = 1024;

/** Fields that may be longer (opaque page tokens carry a sort key) or must be shorter, by normalized name (see limitOf). */
const FIELD_LIMITS: Readonly<Record<string, number>> = {
  pagetoken: 2048,
  email: 320,
  user: 320,
  username: 320,
  password: 256,
  // A CI job's OIDC ID token (docker login's password with username oidc, or the token exchange's subject_token).
  idtoken: 8192,
  subjecttoken: 8192,
};

/** Objects and arrays nested deeper than this are refused (a JSON body of 64 KiB could nest 30,000 levels). */
const MAX_DEPTH = 16;

const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The longest `field` may be: FIELD_LIMITS by its name without case, `_` or `-` (page_token = pageToken), list index dropped. */
export function limitOf(field: string): number {
  const name = field.replace(/\[\d+\]$/, '').split('.').pop()!.toLowerCase().replace(/[_-]/g, '');
  return FIELD_LIMITS[name] ?? DEFAULT_MAX_LENGTH;
}

/** Throws INVALID_ARGUMENT naming `field` unless `value` is text it may hold. */
export function checkText(value: string, field: string): void {
  const max = limitOf(field);
  if (value.length > max) throw refusal(field, `must be at most ${max} characters (got ${value.length})`);
  const control = CONTROL.exec(value);
  if (control) throw refusal(field, `must not contain control characters (U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at position ${control.index})`);
  const surrogate = LONE_SURROGATE.exec(value);
  if (surrogate) throw refusal(field, `must be valid Unicode text (a lone surrogate at position ${surrogate.index})`);
}

/**
 * Checks every string in `value`: a JSON body, a query, path parameters or a
 * decoded gRPC request. Fields are named by their path (`scopes[1]`,
 * `settings.plan`); bytes and numbers are left alone.
 */
export function checkTextFields(value: unknown, field = '', depth = 0): void {
  if (typeof value === 'string') return checkText(value, field);
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return;
  if (depth >= MAX_DEPTH) throw refusal(field, `must not nest more than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkTextFields(item, `${field}[${index}]`, depth + 1));
    return;
  }
  for (const [key, item] of Object.entries(value)) checkTextFields(item, field ? `${field}.${key}` : key, depth + 1);
}

/** Every value of a query string or form (`?scope=a&scope=b`), each named by its key. */
export function checkParams(params: URLSearchParams): void {
  for (const [key, value] of params) checkText(value, key);
}

/** The refusal, naming the field as a message may show it: names come from callers too (body and query keys), so bounded and printable. */
function refusal(field: string, problem: string): RegistryError {
  const printable = field.replace(/[\u0000-\u001f\u007f\ud800-\udfff]/g, '\ufffd') || '(value)';
  const name = printable.length <= 100 ? printable : `${printable.slice(0, 99)}…`;
  return new RegistryError('INVALID_ARGUMENT', `${name}: ${problem}`, { field: name });
}
