import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { TunewireError } from '../../domain/errors';

/**
 * Server-side request forgery guard for outbound webhooks. A subscriber chooses the URL, so a URL
 * must never make us talk to our own network: the metadata service, localhost, the VPC.
 *
 * The URL is parsed with the WHATWG parser, which already turns every IPv4 spelling a browser
 * accepts (2130706433, 0x7f000001, 0177.0.0.1, 127.1) into dotted decimal and IPv6 into its
 * canonical form; the name is then resolved (every address), and the target is refused when ANY
 * address is not public. The caller connects to the returned address only (see pinned-request),
 * so a second, different DNS answer (rebinding) cannot move the connection.
 */

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** dns.lookup with `{ all: true }`, injectable for tests. */
export type LookupAll = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface SsrfGuardOptions {
  /**
   * Explicit exceptions for local development: a host name (exact, case-insensitive), an IP, or a
   * CIDR (`127.0.0.1`, `10.0.0.0/8`, `::1/128`, `localhost`). Empty in production.
   */
  readonly allow?: readonly string[];
  readonly lookup?: LookupAll;
}

export interface SafeTarget {
  readonly url: URL;
  /** The host name as written in the URL (without IPv6 brackets); used for Host and SNI. */
  readonly hostname: string;
  readonly port: number;
  /** The address to connect to, and only this one. */
  readonly address: string;
  readonly family: 4 | 6;
}

/** The URL may not be called: wrong scheme, or a non-public address. Not retryable. */
export class UnsafeWebhookTargetError extends TunewireError {
  readonly code = 'WEBHOOK.UNSAFE_TARGET';
  readonly retryable = false;
  constructor(readonly url: string, readonly reason: string) {
    super(`webhook target ${url} refused: ${reason}`);
  }
}

/** The name did not resolve; DNS may recover, so retryable. */
export class WebhookTargetUnresolvedError extends TunewireError {
  readonly code = 'WEBHOOK.UNRESOLVED';
  readonly retryable = true;
  constructor(readonly hostname: string, options?: { cause?: unknown }) {
    super(`webhook host ${hostname} did not resolve`, options);
  }
}

/** Ranges that are never a subscriber's public endpoint (IANA special-purpose registries). */
const BLOCKED_V4: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified / this network'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local / cloud metadata'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved / broadcast'],
];
const BLOCKED_V6: ReadonlyArray<readonly [string, number, string]> = [
  // ::/96 holds :: (unspecified), ::1 (loopback) and the deprecated IPv4-compatible addresses
  ['::', 96, 'unspecified / loopback / IPv4-compatible'],
  ['64:ff9b::', 96, 'NAT64'],
  ['64:ff9b:1::', 48, 'NAT64 (local use)'],
  ['100::', 64, 'discard-only'],
  ['2001::', 32, 'Teredo'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4'],
  ['fc00::', 7, 'unique local (includes fd00:ec2::254, the EC2 metadata service)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const blocked: ReadonlyArray<{ list: BlockList; reason: string }> = [...BLOCKED_V4.map((r) => [...r, 'ipv4'] as const), ...BLOCKED_V6.map((r) => [...r, 'ipv6'] as const)].map(
  ([network, prefix, reason, type]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, type);
    return { list, reason };
  },
);

/** Why an address is not public, or undefined when it is. IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as its IPv4. */
export function nonPublicReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const mapped = family === 6 ? ipv4Mapped(address) : undefined;
  const [ip, type] = mapped ? [mapped, 'ipv4' as const] : [address, family === 4 ? ('ipv4' as const) : ('ipv6' as const)];
  const hit = blocked.find((b) => b.list.check(ip, type));
  if (hit) return mapped ? `IPv4-mapped ${hit.reason} address` : `${hit.reason} address`;
  return undefined;
}

function ipv4Mapped(address: string): string | undefined {
  const url = new URL(`http://[${address}]/`);
  const m = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(url.hostname);
  if (!m) return undefined;
  const hi = parseInt(m[1] as string, 16);
  const lo = parseInt(m[2] as string, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

interface AllowList {
  readonly hosts: ReadonlySet<string>;
  readonly addresses: BlockList;
}

function parseAllowList(entries: readonly string[]): AllowList {
  const hosts = new Set<string>();
  const addresses = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    const [network, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(network);
    if (family === 0) {
      hosts.add(entry);
      continue;
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) addresses.addAddress(network, type);
    else addresses.addSubnet(network, Number(prefix), type);
  }
  return { hosts, addresses };
}

const systemLookup: LookupAll = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * Checks a webhook URL and returns the one address to connect to.
 *
 * @example
 *   const target = await resolveSafeTarget('https://hooks.example.com/tuning');
 *   // connect to target.address, send Host/SNI target.hostname
 */
export async function resolveSafeTarget(rawUrl: string, options: SsrfGuardOptions = {}): Promise<SafeTarget> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch (error) {
    throw new UnsafeWebhookTargetError(rawUrl, 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeWebhookTargetError(rawUrl, `scheme ${url.protocol} is not http(s)`);
  if (url.username || url.password) throw new UnsafeWebhookTargetError(rawUrl, 'credentials in the URL are not allowed');
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (!hostname) throw new UnsafeWebhookTargetError(rawUrl, 'no host');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;

  const allow = parseAllowList(options.allow ?? []);
  const literal = isIP(hostname);
  let addresses: readonly ResolvedAddress[];
  if (literal !== 0) {
    addresses = [{ address: hostname, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (options.lookup ?? systemLookup)(hostname);
    } catch (error) {
      throw new WebhookTargetUnresolvedError(hostname, { cause: error });
    }
    if (addresses.length === 0) throw new WebhookTargetUnresolvedError(hostname);
  }

  const hostAllowed = allow.hosts.has(hostname);
  for (const { address } of addresses) {
    const family = isIP(address);
    if (family === 0) throw new UnsafeWebhookTargetError(rawUrl, `resolved to ${address}, which is not an IP address`);
    if (hostAllowed || allow.addresses.check(address, family === 4 ? 'ipv4' : 'ipv6')) continue;
    const reason = nonPublicReason(address);
    if (reason) throw new UnsafeWebhookTargetError(rawUrl, `${hostname} resolves to ${address}, a ${reason}`);
  }
  const pinned = addresses[0] as ResolvedAddress;
  return { url, hostname, port, address: pinned.address, family: pinned.family };
}
