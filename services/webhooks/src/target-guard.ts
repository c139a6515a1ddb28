import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Resolves a host name to every address it has (node:dns's lookup; tests pass their own). */
export type Resolve = (host: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

export class RefusedTarget extends Error {}

/**
 * The SSRF guard (docs/webhooks.md): a hook's target must be http(s) and
 * every address its host resolves to a public unicast one (not private,
 * loopback, link-local such as 169.254.169.254, unique-local, multicast,
 * reserved, unspecified), unless it lies in a CIDR the operator allows. The
 * check runs after DNS resolution, on each attempt and each redirect, and the
 * connection goes to the address checked (no second lookup to rebind).
 */
export class TargetGuard {
  private readonly allowed: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

  constructor(allowedCidrs: readonly string[], private readonly resolve: Resolve = systemResolve) {
    this.allowed = allowedCidrs.map((cidr) => {
      try {
        return ipaddr.parseCIDR(cidr);
      } catch {
        throw new Error(`WEBHOOK_ALLOWED_CIDRS: ${cidr.slice(0, 64)} is not a CIDR (10.0.0.0/8, fd00::/8)`);
      }
    });
  }

  /** A URL a hook may have (its form only: the addresses are checked when delivering). */
  static checkUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new RefusedTarget('the URL is not a valid absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RefusedTarget('the URL must be http or https');
    if (url.username || url.password) throw new RefusedTarget('the URL must not hold credentials (the signature authenticates the registry)');
    if (raw.length > 2000) throw new RefusedTarget('the URL is longer than 2000 characters');
    return url;
  }

  /** The address to connect to for `url`: refuses it when any address of its host is not allowed. */
  async addressFor(url: URL): Promise<{ address: string; family: 4 | 6 }> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await this.resolve(host).catch((err: NodeJS.ErrnoException) => {
      throw new RefusedTarget(`${host.slice(0, 100)} does not resolve (${err.code ?? err.message})`);
    });
    if (addresses.length === 0) throw new RefusedTarget(`${host.slice(0, 100)} does not resolve`);
    for (const { address } of addresses) {
      const parsed = ipaddr.process(address);
      const range = parsed.range();
      if (range !== 'unicast' && !this.allowed.some(([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits))) {
        throw new RefusedTarget(`${host.slice(0, 100)} resolves to ${parsed.toString()} (${range}), which webhooks may not reach unless an operator allows it (WEBHOOK_ALLOWED_CIDRS)`);
      }
    }
    const address = ipaddr.process(addresses[0]!.address).toString();
    return { address, family: isIP(address) === 6 ? 6 : 4 };
  }
}
