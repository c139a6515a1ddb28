import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * The client's address: the TCP peer, or, when the peer is one of the trusted
 * proxies (TRUSTED_PROXY_CIDRS, e.g. the ingress controller), the nearest
 * untrusted address in X-Forwarded-For. Anyone else's X-Forwarded-For is ignored.
 */
export function clientAddressResolver(trustedProxies: readonly string[]): (request: IncomingMessage) => string {
  const trust = proxyaddr.compile([...trustedProxies]);
  return (request) => proxyaddr(request, trust);
}
