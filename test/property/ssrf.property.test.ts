import fc from 'fast-check';
import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { resolveSafeTarget, UnsafeWebhookTargetError, type LookupAll, type SafeTarget } from '../../shared/adapters/webhooks/ssrf-guard';

/**
 * The SSRF guard against addresses written every way a URL parser or a resolver will take them.
 * Each case starts from a number (the address meant), renders it as text, and asks the guard; a
 * target the guard accepts must be that number, and the number must be public unicast by the
 * oracle below, which works on integers and prefixes and never parses an address.
 */
const SEED = 20_250_617;
const RUNS = { urls: 4_000, answers: 1_500, accepted: 1_500 };

// ---- the oracle: IANA special-purpose registries, as integer prefixes --------------------------

type Address = { readonly family: 4; readonly value: number } | { readonly family: 6; readonly value: bigint };
type Prefix4 = readonly [net: number, length: number];
type Prefix6 = readonly [net: bigint, length: number];

const p4 = (octets: readonly number[], length: number): Prefix4 => [octets.reduce((acc, o, i) => acc + o * 256 ** (3 - i), 0), length];
const p6 = (words: readonly number[], length: number): Prefix6 => [words.reduce((acc, w, i) => acc | (BigInt(w) << BigInt(112 - 16 * i)), 0n), length];

/** IPv4 special-purpose entries that are not globally reachable, plus multicast, reserved and the retired 6to4 relay anycast. */
const V4_NOT_PUBLIC: readonly Prefix4[] = [
  p4([0], 8),
  p4([10], 8),
  p4([100, 64], 10),
  p4([127], 8),
  p4([169, 254], 16),
  p4([172, 16], 12),
  p4([192, 0, 0], 24),
  p4([192, 0, 2], 24),
  p4([192, 88, 99], 24),
  p4([192, 168], 16),
  p4([198, 18], 15),
  p4([198, 51, 100], 24),
  p4([203, 0, 113], 24),
  p4([224], 4),
  p4([240], 4),
];

/** Only 2000::/3 is global unicast; inside it, these are not public endpoints (or tunnel to IPv4). */
const V6_GLOBAL_UNICAST = p6([0x2000], 3);
const V6_NOT_PUBLIC: readonly Prefix6[] = [
  p6([0x2001], 23), // IETF protocol assignments: Teredo, benchmarking, ORCHID, AMT, ...
  p6([0x2001, 0x0db8], 32), // documentation
  p6([0x2002], 16), // 6to4
  p6([0x3fff], 20), // documentation
];

const inV4 = (value: number, [net, length]: Prefix4) => length === 0 || Math.floor(value / 2 ** (32 - length)) === Math.floor(net / 2 ** (32 - length));
const inV6 = (value: bigint, [net, length]: Prefix6) => value >> BigInt(128 - length) === net >> BigInt(128 - length);

/** Public unicast: a host on the internet, not ours, not special. IPv4-mapped and -translated IPv6 is its IPv4 address. */
function isPublic(address: Address): boolean {
  if (address.family === 4) return !V4_NOT_PUBLIC.some((p) => inV4(address.value, p));
  const high = address.value >> 32n;
  if (high === 0xffffn || high === 0xffff_0000n) return isPublic({ family: 4, value: Number(address.value & 0xffff_ffffn) });
  return inV6(address.value, V6_GLOBAL_UNICAST) && !V6_NOT_PUBLIC.some((p) => inV6(address.value, p));
}

// ---- rendering numbers as text ------------------------------------------------------------------

const octets = (value: number) => [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
const dotted = (value: number) => octets(value).join('.');
const wordsOf = (value: bigint) => Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));

/** The WHATWG serialization: lower-case hex, the first longest run of two or more zero words as '::'. */
function canonical6(value: bigint): string {
  const words = wordsOf(value);
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j += 1;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best.start === -1) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}

const canonical = (address: Address) => (address.family === 4 ? dotted(address.value) : canonical6(address.value));

type Radix = 'dec' | 'oct' | 'hex' | 'HEX';
const radix = fc.constantFrom<Radix>('dec', 'oct', 'hex', 'HEX');

function number(n: number, how: Radix, zeros: number): string {
  if (how === 'dec') return String(n);
  if (how === 'oct') return `0${'0'.repeat(zeros)}${n.toString(8)}`;
  const digits = `${'0'.repeat(zeros)}${n.toString(16)}`;
  return how === 'hex' ? `0x${digits}` : `0X${digits.toUpperCase()}`;
}

const fullwidth = (text: string) => [...text].map((c) => (/[0-9a-zA-Z.]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('');
const percentEncoded = (text: string) => [...text].map((c) => (/[0-9]/.test(c) ? `%${c.charCodeAt(0).toString(16)}` : c)).join('');

/** An IPv4 address as a URL host: 1 to 4 parts, each decimal, octal or hex, dressed up or not. */
const v4Host = (value: number) =>
  fc
    .record({
      parts: fc.constantFrom(1, 2, 3, 4),
      radixes: fc.tuple(radix, radix, radix, radix),
      zeros: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)),
      trailingDot: fc.boolean(),
      dress: fc.constantFrom('plain', 'plain', 'fullwidth', 'percent'),
    })
    .map(({ parts, radixes, zeros, trailingDot, dress }) => {
      const [a = 0, b = 0, c = 0, d = 0] = octets(value);
      const numbers = parts === 4 ? [a, b, c, d] : parts === 3 ? [a, b, c * 256 + d] : parts === 2 ? [a, value & 0xff_ffff] : [value];
      const text = `${numbers.map((n, i) => number(n, radixes[i] ?? 'dec', zeros[i] ?? 0)).join('.')}${trailingDot ? '.' : ''}`;
      return dress === 'fullwidth' ? fullwidth(text) : dress === 'percent' ? percentEncoded(text) : text;
    });

/** An IPv6 address as text: any zero run compressed or none, padded or not, either case, maybe a dotted tail. */
const v6Text = (value: bigint) =>
  fc.record({ run: fc.nat(), dottedTail: fc.boolean(), upper: fc.boolean(), pad: fc.boolean() }).map(({ run, dottedTail, upper, pad }) => {
    const words = wordsOf(value);
    const width = dottedTail ? 6 : 8;
    const runs: (readonly [number, number])[] = [];
    for (let start = 0; start < width; start += 1) for (let end = start; end < width && words[end] === 0; end += 1) runs.push([start, end + 1]);
    const chosen = runs.length && run % 3 !== 0 ? runs[run % runs.length] : undefined;
    const word = (w: number) => {
      const hex = pad ? w.toString(16).padStart(4, '0') : w.toString(16);
      return upper ? hex.toUpperCase() : hex;
    };
    const head = words.slice(0, width).map(word);
    const tail = dottedTail ? [`${(words[6] ?? 0) >> 8}.${(words[6] ?? 0) & 255}.${(words[7] ?? 0) >> 8}.${(words[7] ?? 0) & 255}`] : [];
    if (!chosen) return [...head, ...tail].join(':');
    const [from, to] = chosen;
    const left = head.slice(0, from).join(':');
    const right = [...head.slice(to), ...tail].join(':');
    return `${left}::${right}`;
  });

// ---- generating the numbers: uniform, and biased to every special range and its edges -----------

const V4_INTERESTING: readonly Prefix4[] = [...V4_NOT_PUBLIC, p4([8, 8, 8], 24), p4([93, 184], 16), p4([172, 32], 11), p4([100, 128], 9), p4([192, 0, 1], 24)];

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const v4Value: fc.Arbitrary<number> = fc.oneof(
  u32,
  fc.tuple(fc.constantFrom(...V4_INTERESTING), u32).map(([[net, length], r]) => net + (r % 2 ** (32 - length))),
  // the first and last address of each range, and their outside neighbours
  fc.tuple(fc.constantFrom(...V4_INTERESTING), fc.constantFrom(-1, 0, 1, 2)).map(([[net, length], edge]) => {
    const size = 2 ** (32 - length);
    const at = edge === -1 ? net - 1 : edge === 0 ? net : edge === 1 ? net + size - 1 : net + size;
    return Math.min(0xffff_ffff, Math.max(0, at));
  }),
);

const V6_INTERESTING: readonly Prefix6[] = [
  p6([], 96), // ::/96, IPv4-compatible, with :: and ::1
  p6([0, 0, 0, 0, 0, 0xffff], 96), // IPv4-mapped
  p6([0, 0, 0, 0, 0xffff, 0], 96), // IPv4-translated
  p6([0x64, 0xff9b], 96), // NAT64
  p6([0x64, 0xff9b, 1], 48), // NAT64 local-use
  p6([0x100], 64), // discard
  p6([0x100, 0, 0, 1], 64), // dummy
  p6([0x2001], 23),
  p6([0x2001], 32), // Teredo
  p6([0x2001, 2], 48), // benchmarking
  p6([0x2001, 0x10], 28), // ORCHID
  p6([0x2001, 0x20], 28), // ORCHIDv2
  p6([0x2001, 0x0db8], 32),
  p6([0x2002], 16),
  p6([0x3fff], 20),
  p6([0x5f00], 16),
  p6([0xfc00], 7),
  p6([0xfe80], 10),
  p6([0xfec0], 10),
  p6([0xff00], 8),
  p6([0x2000], 3),
  p6([0x2600], 12),
  p6([0x2a00], 12),
  p6([0x2001, 0x200], 23),
];

const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
const embed = (high: bigint, v4: number) => high | BigInt(v4);
const v6Value: fc.Arbitrary<bigint> = fc.oneof(
  u128,
  fc.tuple(fc.constantFrom(...V6_INTERESTING), u128).map(([[net, length], r]) => net | (r & ((1n << BigInt(128 - length)) - 1n))),
  // IPv4 addresses embedded every standard way
  fc.tuple(fc.constantFrom('mapped', 'translated', 'compatible', 'nat64', '6to4', 'teredo'), v4Value, v4Value, u128).map(([how, v4, other, r]) => {
    switch (how) {
      case 'mapped':
        return embed(0xffffn << 32n, v4);
      case 'translated':
        return embed(0xffff_0000n << 32n, v4);
      case 'compatible':
        return BigInt(v4);
      case 'nat64':
        return embed(0x0064_ff9bn << 96n, v4);
      case '6to4':
        return (0x2002n << 112n) | (BigInt(v4) << 80n) | (r & ((1n << 80n) - 1n));
      case 'teredo':
        // server IPv4 in bits 32-64, flags and port, then the client IPv4 inverted
        return (0x2001_0000n << 96n) | (BigInt(other) << 64n) | (r & (0xffff_ffffn << 32n)) | BigInt(~v4 >>> 0);
    }
  }),
);

const address: fc.Arbitrary<Address> = fc.oneof(
  v4Value.map((value) => ({ family: 4 as const, value })),
  v6Value.map((value) => ({ family: 6 as const, value })),
);

/** A URL host for the address; zone ids and unbracketed IPv6 are invalid URLs, included to be refused. */
const urlHost = (a: Address): fc.Arbitrary<string> =>
  a.family === 4
    ? v4Host(a.value)
    : fc.tuple(v6Text(a.value), fc.constantFrom('bracketed', 'bracketed', 'bracketed', 'zone', 'bare')).map(([text, form]) =>
        form === 'bracketed' ? `[${text}]` : form === 'zone' ? `[${text}%25eth0]` : text,
      );

const url = (host: string, tail: { scheme: string; port: string; path: string }) => `${tail.scheme}://${host}${tail.port}${tail.path}`;
const urlTail = fc.record({ scheme: fc.constantFrom('http', 'https', 'HTTP'), port: fc.constantFrom('', ':80', ':8080', ':443'), path: fc.constantFrom('/', '/hook', '/a/b?x=1') });

/** Names must never reach DNS in the URL properties; if one does, it resolves nowhere. */
const noDns: LookupAll = async (hostname) => {
  throw new Error(`unexpected lookup of ${hostname}`);
};

async function guard(target: string, lookup: LookupAll = noDns): Promise<SafeTarget | undefined> {
  return resolveSafeTarget(target, { lookup }).catch(() => undefined);
}

describe('SSRF guard (property)', () => {
  it('accepts a literal address in a URL only when it is public unicast, and pins exactly that address', async () => {
    console.log(`ssrf property: fast-check seed ${SEED}`);
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        address.chain((a) => fc.tuple(fc.constant(a), urlHost(a), urlTail)),
        async ([a, host, tail]) => {
          const target = await guard(url(host, tail));
          if (!target) return;
          accepted += 1;
          expect(isPublic(a), `${url(host, tail)} was accepted`).toBe(true);
          expect(target.address).toBe(canonical(a));
        },
      ),
      { seed: SEED, numRuns: RUNS.urls },
    );
    console.log(`  ${accepted} of ${RUNS.urls} generated URLs accepted`);
  });

  it('accepts a name only when every address it resolves to is public unicast, and pins the first answer', async () => {
    /** One resolver answer: the text, the number it means, and whether it is no usable address (a zone id, not an IP). */
    type Answer = { readonly a: Address; readonly text: string; readonly unusable: boolean };
    const answer = address.chain((a): fc.Arbitrary<Answer> =>
      a.family === 4
        ? fc.oneof(
            fc.constant({ a, text: dotted(a.value), unusable: false }),
            // a resolver never answers so, but if one did, it is not an address
            v4Host(a.value).map((text) => ({ a, text, unusable: text !== dotted(a.value) })),
          )
        : fc.tuple(v6Text(a.value), fc.constantFrom('', '', '', '%eth0', '%1')).map(([text, zone]) => ({ a, text: `${text}${zone}`, unusable: zone !== '' })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 3 }), urlTail, async (answers, tail) => {
        for (const { a, text, unusable } of answers) {
          if (a.family !== 6 || unusable) continue;
          // the generator's own check: the text means the number (inet_pton, through BlockList)
          const same = new BlockList();
          same.addAddress(text, 'ipv6');
          expect(same.check(canonical(a), 'ipv6'), text).toBe(true);
        }
        const lookup: LookupAll = async () => answers.map(({ a, text }) => ({ address: text, family: a.family }));
        const target = await guard(url('hooks.example.test', tail), lookup);
        if (!target) return;
        for (const { a, text, unusable } of answers) expect(!unusable && isPublic(a), `answer ${text} was accepted`).toBe(true);
        expect(target.address).toBe(answers[0]?.text);
      }),
      { seed: SEED, numRuns: RUNS.answers },
    );
  });

  it('still accepts a public address however it is written (the guard does not refuse everything)', async () => {
    const validHost = (a: Address) => (a.family === 4 ? v4Host(a.value) : v6Text(a.value).map((text) => `[${text}]`));
    await fc.assert(
      fc.asyncProperty(
        address.filter(isPublic).chain((a) => fc.tuple(fc.constant(a), validHost(a), urlTail)),
        async ([a, host, tail]) => {
          const target = await guard(url(host, tail));
          expect(target?.address, url(host, tail)).toBe(canonical(a));
        },
      ),
      { seed: SEED, numRuns: RUNS.accepted },
    );
  });
});

/**
 * Classic SSRF targets, as a fixed list: loopback and metadata in every spelling, the IPv4-in-IPv6
 * forms (the two IPv4-translated ones a probe found accepted), and credentials in the URL.
 */
const CLASSIC_TARGETS = [
  'http://127.0.0.1/',
  'http://localhost:8080/',
  'http://127.1/',
  'http://0/',
  'http://0.0.0.0:22/',
  'http://2130706433/',
  'http://0x7f000001/',
  'http://0x7f.1/',
  'http://0177.0.0.1/',
  'http://①②⑦.⓪.⓪.①/',
  'http://[::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:7f00:1]/',
  'http://[::ffff:0:7f00:1]/',
  'http://[::ffff:0:a9fe:a9fe]/',
  'http://[::127.0.0.1]/',
  'http://[64:ff9b::a9fe:a9fe]/',
  'http://[2002:a9fe:a9fe::1]/',
  'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/',
  'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
  'http://[fd00:ec2::254]/latest/meta-data/',
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://100.100.100.200/latest/meta-data/',
  'http://10.0.0.1/',
  'http://192.168.0.1/',
  'http://[fe80::1]/',
  'http://hooks.example.com@127.0.0.1/',
  'https://user:pass@hooks.example.com/',
];

const classicDns: Record<string, readonly string[]> = {
  localhost: ['127.0.0.1', '::1'],
  'metadata.google.internal': ['169.254.169.254'],
  'hooks.example.com': ['93.184.215.14'],
};

const classicLookup: LookupAll = async (hostname) => (classicDns[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('SSRF guard (classic targets)', () => {
  it('has the fixed list of 28', () => {
    expect(CLASSIC_TARGETS).toHaveLength(28);
  });

  it.each(CLASSIC_TARGETS)('refuses %s without repeating credentials', async (target) => {
    const error = await resolveSafeTarget(target, { lookup: classicLookup }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeWebhookTargetError);
    expect((error as UnsafeWebhookTargetError).message).not.toMatch(/pass|user:/);
  });
});
