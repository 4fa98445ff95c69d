import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { TunewireError, ValidationError } from '../../domain/errors';
import { hasUserinfo, redactWebhookUrl } from '../../ports/webhooks';

/**
 * Server-side request forgery guard for outbound webhooks. A subscriber chooses the URL, so a URL
 * must never make us talk to our own network: the metadata service, localhost, the VPC.
 *
 * The URL is parsed with the WHATWG parser, which already turns every IPv4 spelling a browser
 * accepts (2130706433, 0x7f000001, 0177.0.0.1, 127.1) into dotted decimal and IPv6 into its
 * canonical form; the name is then resolved (every address), and the target is refused when ANY
 * address is not public. The caller connects to the returned address only (see pinned-request),
 * so a second, different DNS answer (rebinding) cannot move the connection.
 *
 * "Public" is decided by net.BlockList against the IANA special-purpose registries, and for IPv6 it
 * is an allow rule as well: only global unicast (2000::/3) passes. IPv6 forms that carry an IPv4
 * address are judged by that address (mapped, translated) or refused (compatible, NAT64, 6to4,
 * Teredo), so no IPv6 spelling reaches an IPv4 address its dotted form could not.
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
   * CIDR (`127.0.0.1`, `10.0.0.0/8`, `::1/128`, `localhost`). Empty in production. Entries given
   * as strings are parsed on every call; a sender parses them once (WebhookAllowList.parse).
   */
  readonly allow?: readonly string[] | WebhookAllowList;
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
  /** The URL as given, its userinfo (if any) redacted. */
  readonly url: string;
  constructor(url: string, readonly reason: string) {
    const shown = redactWebhookUrl(url);
    super(`webhook target ${shown} refused: ${reason}`);
    this.url = shown;
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

/** Ranges that are never a subscriber's public endpoint (IANA IPv4 special-purpose registry). */
const BLOCKED_V4: readonly Rule[] = [
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

/**
 * IPv6 ranges whose last 32 bits are an IPv4 address the host itself reaches (a dual-stack socket
 * for the mapped form, a SIIT translator for the translated one): judged as that IPv4 address.
 */
const EMBEDDING_V6: readonly Rule[] = [
  ['::ffff:0:0', 96, 'IPv4-mapped'],
  ['::ffff:0:0:0', 96, 'IPv4-translated'],
];

/**
 * Refused outright, most specific first (the first match names the reason). Forms that lead to an
 * IPv4 address through someone else's gateway (NAT64, 6to4, Teredo) are refused whatever that
 * address is: the gateway may be ours, and the address may be on its side of it.
 */
const BLOCKED_V6: readonly Rule[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'IPv4-compatible (deprecated)'],
  ['64:ff9b::', 96, 'NAT64 (reaches any IPv4 address through a translator)'],
  ['64:ff9b:1::', 48, 'NAT64 local-use'],
  ['100::', 64, 'discard-only'],
  ['100:0:0:1::', 64, 'dummy prefix'],
  ['2001::', 32, 'Teredo (tunnels to an IPv4 address)'],
  ['2001:2::', 48, 'benchmarking'],
  ['2001:10::', 28, 'ORCHID (deprecated)'],
  ['2001:20::', 28, 'ORCHIDv2'],
  ['2001:30::', 28, 'drone remote ID tags'],
  ['2001::', 23, 'IETF protocol assignments'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4 (tunnels to an IPv4 address)'],
  ['3fff::', 20, 'documentation'],
  ['5f00::', 16, 'SRv6 segment identifiers'],
  ['fc00::', 7, 'unique local (includes fd00:ec2::254, the EC2 metadata service)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local (deprecated)'],
  ['ff00::', 8, 'multicast'],
];


type Rule = readonly [network: string, prefix: number, reason: string];
type Family = 'ipv4' | 'ipv6';

// One BlockList per rule, checked with the address's own family only: a BlockList also matches an
// IPv4 rule against an IPv4-mapped IPv6 address and an IPv6 rule covering ::ffff:0:0/96 against a
// plain IPv4 address, and a shared list would blur which rule matched.
function compile(rules: readonly Rule[], type: Family): ReadonlyArray<{ readonly list: BlockList; readonly reason: string }> {
  return rules.map(([network, prefix, reason]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, type);
    return { list, reason };
  });
}

const blockedV4 = compile(BLOCKED_V4, 'ipv4');
const embeddingV6 = compile(EMBEDDING_V6, 'ipv6');
const blockedV6 = compile(BLOCKED_V6, 'ipv6');
/** IANA's global unicast space; every other IPv6 address is special or unassigned. */
const globalUnicastV6 = new BlockList();
globalUnicastV6.addSubnet('2000::', 3, 'ipv6');

/**
 * Why an address is not a public unicast address, or undefined when it is. An IPv6 address that
 * embeds an IPv4 address the host would reach directly (::ffff:a.b.c.d, ::ffff:0:a.b.c.d) is
 * judged as that IPv4 address; every other IPv4-embedding form is refused.
 *
 * @example
 *   nonPublicReason('::ffff:0:7f00:1'); // 'IPv4-translated loopback address'
 */
export function nonPublicReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  // getaddrinfo only scopes non-global addresses; refuse rather than reason about interfaces
  if (address.includes('%')) return 'scoped (zone id) address';
  if (family === 4) return reasonV4(address);
  for (const { list, reason } of embeddingV6) {
    if (!list.check(address, 'ipv6')) continue;
    const why = reasonV4(embeddedIPv4(address));
    return why ? `${reason} ${why}` : undefined;
  }
  const hit = blockedV6.find((b) => b.list.check(address, 'ipv6'));
  if (hit) return `${hit.reason} address`;
  if (!globalUnicastV6.check(address, 'ipv6')) return 'non-global-unicast (outside 2000::/3) address';
  return undefined;
}

function reasonV4(address: string): string | undefined {
  const hit = blockedV4.find((b) => b.list.check(address, 'ipv4'));
  return hit ? `${hit.reason} address` : undefined;
}

/** The dotted IPv4 address in the last 32 bits of an IPv6 address (isIP() === 6, no zone id). */
function embeddedIPv4(address: string): string {
  // isIP() has validated it; the WHATWG serializer then writes lower-case hex words, no dotted
  // tail, at most one '::', which leaves only the '::' to expand
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = '', tail] = canonical.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const words = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const [hi = 0, lo = 0] = words.slice(6).map((word) => parseInt(word, 16));
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** TUNEWIRE_WEBHOOK_ALLOW (or an `allow` option) has an entry the guard cannot use. */
export class WebhookAllowListError extends ValidationError {
  override readonly code = 'WEBHOOK.ALLOW_LIST_INVALID';
}

/**
 * What is wrong with one allow-list entry, or undefined when it is a host name, an IP address or
 * a CIDR. Shared by the configuration check at start and parseAllowList.
 *
 * @example
 *   allowEntryProblem('10.0.0.0/33'); // 'has prefix length 33; an IPv4 prefix is 0 to 32'
 */
export function allowEntryProblem(raw: string): string | undefined {
  const entry = normalizedEntry(raw);
  if (!entry) return 'is empty';
  const slash = entry.indexOf('/');
  const network = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(network);
  if (family === 0) {
    if (slash !== -1 && /^[0-9a-fx.:]+$/.test(network)) return `is not a CIDR: ${network} is not an IP address`;
    if (slash !== -1 || !HOST_NAME.test(entry)) return 'is not a host name, an IP address or a CIDR';
    // the URL parser reads such a name as an IPv4 address, so as a name it would never match
    if (NUMERIC_LABEL.test(entry.replace(/\.$/, '').split('.').pop() ?? '')) return 'is not a valid IPv4 address';
    return undefined;
  }
  if (network.includes('%')) return 'has a zone id; allow the address without it';
  if (slash === -1) return undefined;
  const prefix = entry.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `has prefix length ${prefix || '(none)'}; an IPv${family} prefix is 0 to ${max}`;
  return undefined;
}

/** Trimmed, lower-case, an IPv6 address out of its brackets. */
function normalizedEntry(raw: string): string {
  return raw.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

const HOST_NAME = /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/;
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|\d+)$/;

/**
 * The guard's exceptions, parsed once. An IPv4 entry also admits the same address written
 * IPv4-mapped (::ffff:127.0.0.1), as BlockList matches them; the translated and other embedding
 * forms are not admitted by an IPv4 entry.
 */
export class WebhookAllowList {
  private constructor(
    private readonly hosts: ReadonlySet<string>,
    private readonly addresses: BlockList,
  ) {}

  /** Throws WebhookAllowListError naming every bad entry. */
  static parse(entries: readonly string[], subject = 'webhook allow list'): WebhookAllowList {
    const issues = entries.flatMap((entry, i) => {
      const problem = allowEntryProblem(entry);
      return problem ? [{ path: `[${i}]`, message: `"${entry}" ${problem}` }] : [];
    });
    if (issues.length) throw new WebhookAllowListError(subject, issues);
    const hosts = new Set<string>();
    const addresses = new BlockList();
    for (const entry of entries.map(normalizedEntry)) {
      const [network, prefix] = entry.split('/') as [string, string | undefined];
      const family = isIP(network);
      if (family === 0) hosts.add(entry);
      else if (prefix === undefined) addresses.addAddress(network, family === 4 ? 'ipv4' : 'ipv6');
      else addresses.addSubnet(network, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
    }
    return new WebhookAllowList(hosts, addresses);
  }

  hostAllowed(hostname: string): boolean {
    return this.hosts.has(hostname);
  }

  addressAllowed(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.addresses.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
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
  if (hasUserinfo(rawUrl)) throw new UnsafeWebhookTargetError(rawUrl, 'credentials in the URL are not allowed');
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (!hostname) throw new UnsafeWebhookTargetError(rawUrl, 'no host');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;

  const allow = options.allow instanceof WebhookAllowList ? options.allow : WebhookAllowList.parse(options.allow ?? []);
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

  const hostAllowed = allow.hostAllowed(hostname);
  for (const { address } of addresses) {
    if (isIP(address) === 0) throw new UnsafeWebhookTargetError(rawUrl, `resolved to ${address}, which is not an IP address`);
    if (hostAllowed || allow.addressAllowed(address)) continue;
    const reason = nonPublicReason(address);
    if (reason) throw new UnsafeWebhookTargetError(rawUrl, `${hostname} resolves to ${address}: ${reason}`);
  }
  const pinned = addresses[0] as ResolvedAddress;
  return { url, hostname, port, address: pinned.address, family: pinned.family };
}
