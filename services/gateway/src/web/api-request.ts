import { z } from 'zod';
import { RegistryError } from '@ocireg/errors';

/**
 * A request's JSON body or query, parsed with its route's schema
 * (@ocireg/web-api), or 400 / INVALID_ARGUMENT naming the first field that is
 * wrong, in `detail.field` as text-input.ts names them (`scopes[1]`). The
 * schemas word their own refusals; zod's own, for a value of the wrong type,
 * are worded here ("name: must be a string").
 */
export function parseRequest<S extends z.ZodTypeAny>(schema: S, value: unknown, part: 'body' | 'query'): z.output<S> {
  const parsed = schema.safeParse(value, { errorMap: (issue, ctx) => ({ message: worded(issue, ctx, fieldOf(issue.path, part)) }) });
  if (parsed.success) return parsed.data as z.output<S>;
  const issue = parsed.error.issues[0]!;
  throw new RegistryError('INVALID_ARGUMENT', issue.message, { field: fieldOf(issue.path, part) });
}

/**
 * A query as the schemas read it: a repeated parameter is its first value, and
 * an empty one counts as absent (`?project=` is no project, `?sort=` the default order).
 */
export function queryValues(query: Record<string, unknown>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    const first = Array.isArray(value) ? (value as unknown[])[0] : value;
    if (typeof first === 'string' && first !== '') values[name] = first;
  }
  return values;
}

/** The schema's own message, else zod's worded with the field in front. */
function worded(issue: z.ZodIssueOptionalMessage, ctx: { defaultError: string; data: unknown }, field: string): string {
  const zodOwn = z.defaultErrorMap(issue, ctx).message;
  if (ctx.defaultError !== zodOwn) return ctx.defaultError;
  if (issue.code !== z.ZodIssueCode.invalid_type) return `${field}: ${zodOwn}`;
  if (issue.received === 'undefined') return `${field} is required`;
  return `${field}: must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
}

/** `scopes[1]`, `settings.plan`; the part itself for the whole body or query. */
function fieldOf(path: Array<string | number>, part: string): string {
  return path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${key}` : key), '') || part;
}
