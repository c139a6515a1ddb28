import { invalid, REPOSITORY_PATH } from '../validation';

const PRINTABLE = /^[\x21-\x7e]*$/;
/** A tag is revalidated at most this rarely: 30 days. */
const MAX_TTL_SECONDS = 30 * 24 * 3600;

/** An upstream's address: http(s), a host, no credentials, query or fragment (a path prefix is allowed). */
export function upstreamUrl(value: string): string {
  if (!value || value.length > 500) throw invalid('url', 'must be an http or https URL of at most 500 characters');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('url', 'must be an http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('url', 'must be an http or https URL');
  if (url.username || url.password) throw invalid('url', 'must not carry credentials (give username and password instead)');
  if (url.search || url.hash) throw invalid('url', 'must not have a query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export function upstreamUsername(value: string): string {
  if (value.length > 256 || !PRINTABLE.test(value)) throw invalid('username', 'must be at most 256 printable characters without spaces');
  return value;
}

export function upstreamPassword(value: string): string {
  if (value.length > 4096 || /[\r\n\0]/.test(value)) throw invalid('password', 'must be at most 4096 characters on one line');
  return value;
}

/** Upstream repository prefixes the upstream serves ("library", "bitnami"); none: every repository. */
export function upstreamNamespaces(values: string[]): string[] {
  if (values.length > 100) throw invalid('namespaces', 'at most 100');
  for (const value of values) {
    if (value.length > 255 || !REPOSITORY_PATH.test(value)) throw invalid('namespaces', `"${value.slice(0, 60)}" is not a repository path prefix`);
  }
  return [...new Set(values)];
}

export function tagTtlSeconds(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_TTL_SECONDS) throw invalid('tag_ttl_seconds', `must be a whole number of seconds from 0 to ${MAX_TTL_SECONDS}`);
  return value;
}
