import { RegistryError } from '@ocireg/errors';
import { parseRepositoryName, parseTag } from '@ocireg/oci';

/** `n` and `last` of a paginated listing; n is undefined when not given. `last` must be a tag (or a repository name) as an earlier page returned it. */
export function pageParams(url: URL, kind: 'tags' | 'catalog'): { n: number | undefined; last: string } {
  const n = url.searchParams.get('n');
  if (n !== null && !/^\d{1,9}$/.test(n)) throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be a number of results, not ${JSON.stringify(n.slice(0, 20))}`);
  const last = url.searchParams.get('last') ?? '';
  if (last && !(kind === 'tags' ? isTag(last) : isRepositoryName(last))) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', `last must be a ${kind === 'tags' ? 'tag' : 'repository name'} from an earlier page`);
  }
  return { n: n === null ? undefined : Number(n), last };
}

export function nextLink(path: string, n: number, last: string): string {
  return `<${path}?${new URLSearchParams({ n: String(n), last }).toString()}>; rel="next"`;
}

function isTag(value: string): boolean {
  try {
    parseTag(value);
    return true;
  } catch {
    return false;
  }
}

export function isRepositoryName(value: string): boolean {
  try {
    parseRepositoryName(value);
    return true;
  } catch {
    return false;
  }
}
