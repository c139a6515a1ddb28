/**
 * dockerd's transparent mirror (UPSTREAM_MIRROR_HOSTS, docs/pull-through.md):
 * dockerd sends `/v2/library/alpine/...` to its `registry-mirrors` with no sign
 * of the registry it mirrors, so the operator gives the mirror a host name of
 * its own, and the Host header tells its requests apart from a workspace's.
 */

/**
 * The "<workspace>/<upstream>" the request's Host header names, or undefined.
 * A pair without a port matches the host on any port.
 */
export function mirrorHostPrefix(mirrorHosts: Record<string, string>, host: string | undefined): string | undefined {
  if (!host) return undefined;
  const lower = host.toLowerCase();
  return mirrorHosts[lower] ?? mirrorHosts[lower.replace(/:\d+$/, '')];
}

/**
 * The scopes a token request on a mirror host means: dockerd asks for
 * `repository:library/alpine:pull`, the name it pulls; the gateway serves
 * `<prefix>/library/alpine`, so the token must grant that. A mirror host
 * serves pulls only: other actions and other scopes are dropped, so such a
 * token never grants more than pulling the mirrored names.
 */
export function mirrorScopes(prefix: string, scopes: string[]): string[] {
  return scopes.flatMap((scope) => {
    const match = /^repository:([^:]+):(.*)$/.exec(scope);
    if (!match || !match[2]!.split(',').includes('pull')) return [];
    return [`repository:${prefix}/${match[1]}:pull`];
  });
}
