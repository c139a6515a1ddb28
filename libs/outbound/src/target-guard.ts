import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Resolves a host name to every address it has (node:dns's lookup; tests pass their own). */
export type Resolve = (host: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

export class RefusedTarget extends Error {}

/**
 * The SSRF guard (docs/security.md, "Targets users name"): a target chosen by
 * a user (a webhook, an upstream registry) must be http(s) and every address
 * its host resolves to a public unicast one (not private, loopback,
 * link-local such as 169.254.169.254, unique-local, multicast, reserved,
 * unspecified), unless it lies in a CIDR the operator allows (`setting` names
 * the variable that does, for the messages). Callers check on each attempt
 * and each redirect, and connect to the address checked (`pinnedLookup`), so
 * a second DNS answer cannot rebind it.
 */
export class TargetGuard {
  private readonly allowed: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

  constructor(
    allowedCidrs: readonly string[],
    private readonly setting: string,
    private readonly resolve: Resolve = systemResolve,
  ) {
    this.allowed = allowedCidrs.map((cidr) => {
      try {
        return ipaddr.parseCIDR(cidr);
      } catch {
        throw new Error(`${setting}: ${cidr.slice(0, 64)} is not a CIDR (10.0.0.0/8, fd00::/8)`);
      }
    });
  }

  /** A URL a target may have (its form only: the addresses are checked when connecting). */
  static checkUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new RefusedTarget('the URL is not a valid absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RefusedTarget('the URL must be http or https');
    if (url.username || url.password) throw new RefusedTarget('the URL must not hold credentials');
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
        throw new RefusedTarget(`${host.slice(0, 100)} resolves to ${parsed.toString()} (${range}), which may not be reached unless an operator allows it (${this.setting})`);
      }
    }
    // IPv4 first when the host has both (a local server listening on 127.0.0.1 only, as "localhost" often is).
    const chosen = addresses.find((a) => isIP(a.address) === 4) ?? addresses[0]!;
    const address = ipaddr.process(chosen.address).toString();
    return { address, family: isIP(address) === 6 ? 6 : 4 };
  }
}

/** A `lookup` for node:http(s) and net that answers with the address the guard checked, whatever DNS says now. */
export function pinnedLookup(target: { address: string; family: 4 | 6 }): LookupFunction {
  return (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (err: null, addresses: Array<{ address: string; family: number }>) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
}
