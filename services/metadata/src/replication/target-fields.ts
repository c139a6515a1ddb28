import { packagePatternProblem } from '../retention/pattern';
import { invalid, REPOSITORY_PATH } from '../validation';

export { upstreamPassword as targetPassword, upstreamUrl as targetUrl, upstreamUsername as targetUsername } from '../upstreams/upstream-fields';


/** Which packages a target receives: a glob over the name without the workspace (empty or malformed is refused here; stored ones that are match nothing). */
export function packagePattern(value: string): string {
  const problem = packagePatternProblem(value);
  if (problem) throw invalid('package_pattern', problem);
  return value;
}

/** The repository path prefix on the target ("mirror/acme"), or empty for none. */
export function destinationPrefix(value: string): string {
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  if (trimmed && (trimmed.length > 200 || !REPOSITORY_PATH.test(trimmed))) throw invalid('destination_prefix', 'must be empty or a repository path such as "mirror/acme" (lowercase components separated by "/")');
  return trimmed;
}

/** Where a package goes on a target: `<prefix>/<package>`, or `<package>` without a prefix. */
export function destinationRepository(prefix: string, packageName: string): string {
  return prefix ? `${prefix}/${packageName}` : packageName;
}
