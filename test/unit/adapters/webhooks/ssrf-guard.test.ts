import { describe, expect, it } from 'vitest';
import { BlockList } from 'node:net';
import {
  allowEntryProblem,
  nonPublicReason,
  resolveSafeTarget,
  UnsafeWebhookTargetError,
  WebhookAllowList,
  WebhookAllowListError,
  WebhookTargetUnresolvedError,
  type LookupAll,
} from '../../../../shared/adapters/webhooks/ssrf-guard';

const resolvesTo =
  (...addresses: string[]): LookupAll =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));

const publicLookup = resolvesTo('93.184.215.14');

async function refusal(url: string, lookup: LookupAll = publicLookup): Promise<unknown> {
  return resolveSafeTarget(url, { lookup }).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('resolveSafeTarget', () => {
  it.each([
    ['decimal IPv4', 'http://2130706433/'],
    ['hex IPv4', 'http://0x7f000001/'],
    ['octal IPv4', 'http://0177.0.0.1/'],
    ['short IPv4', 'http://127.1/'],
    ['loopback', 'http://127.0.0.1:8080/hook'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['IPv4-mapped IPv6, dotted', 'http://[::ffff:127.0.0.1]/'],
    ['IPv4-mapped IPv6, hex', 'http://[::ffff:7f00:1]/'],
    ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/'],
    ['10/8', 'http://10.1.2.3/'],
    ['172.16/12', 'http://172.31.255.255/'],
    ['192.168/16', 'https://192.168.0.10/'],
    ['100.64/10 (CGNAT)', 'http://100.100.100.200/'],
    ['fc00::/7', 'http://[fc00::1]/'],
    ['EC2 IPv6 metadata', 'http://[fd00:ec2::254]/'],
    ['fe80::/10', 'http://[fe80::1]/'],
    ['::1', 'http://[::1]/'],
    ['0.0.0.0', 'http://0.0.0.0/'],
    ['0 (short unspecified)', 'http://0/'],
    ['NAT64', 'http://[64:ff9b::7f00:1]/'],
    ['multicast', 'http://224.0.0.1/'],
    ['broadcast', 'http://255.255.255.255/'],
  ])('refuses %s (%s)', async (_label, url) => {
    expect(await refusal(url)).toBeInstanceOf(UnsafeWebhookTargetError);
  });

  it.each([
    ['IPv4-translated loopback', 'http://[::ffff:0:7f00:1]/'],
    ['IPv4-translated metadata', 'http://[::ffff:0:a9fe:a9fe]/'],
    ['IPv4-translated, dotted', 'http://[::ffff:0:10.0.0.1]/'],
    ['IPv4-translated, written out in full', 'http://[0000:0000:0000:0000:FFFF:0000:7F00:0001]/'],
    ['IPv4-compatible, even of a public address', 'http://[::8.8.8.8]/'],
    ['NAT64 of a public address', 'http://[64:ff9b::8.8.8.8]/'],
    ['NAT64 local-use', 'http://[64:ff9b:1::808:808]/'],
    ['6to4 of a public address', 'http://[2002:808:808::1]/'],
    ['6to4 of loopback', 'http://[2002:7f00:1::1]/'],
    ['Teredo', 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/'],
    ['benchmarking 2001:2::/48', 'http://[2001:2::1]/'],
    ['ORCHID 2001:10::/28', 'http://[2001:10::1]/'],
    ['ORCHIDv2 2001:20::/28', 'http://[2001:20::1]/'],
    ['IETF protocol assignments 2001::/23', 'http://[2001:1::1]/'],
    ['discard 100::/64', 'http://[100::1]/'],
    ['documentation 2001:db8::/32', 'http://[2001:db8::1]/'],
    ['documentation 3fff::/20', 'http://[3fff::1]/'],
    ['SRv6 5f00::/16', 'http://[5f00::1]/'],
    ['site-local fec0::/10', 'http://[fec0::1]/'],
    ['multicast ff00::/8', 'http://[ff02::1]/'],
    ['unique local fd00::/8', 'http://[fdff::1]/'],
    ['unassigned (outside 2000::/3)', 'http://[4000::1]/'],
    ['unassigned ::2', 'http://[::2]/'],
  ])('refuses IPv6 %s (%s)', async (_label, url) => {
    expect(await refusal(url)).toBeInstanceOf(UnsafeWebhookTargetError);
  });

  it('refuses a name that resolves to an IPv4-translated private address, or to a scoped address', async () => {
    expect(await refusal('https://hooks.example.com/x', resolvesTo('::ffff:0:a00:1'))).toBeInstanceOf(UnsafeWebhookTargetError);
    expect(await refusal('https://hooks.example.com/x', resolvesTo('fe80::1%eth0'))).toBeInstanceOf(UnsafeWebhookTargetError);
    expect(await refusal('https://hooks.example.com/x', resolvesTo('2606:4700:4700::1111%eth0'))).toBeInstanceOf(UnsafeWebhookTargetError);
  });

  it('accepts IPv6 global unicast, and IPv4-mapped or -translated public IPv4', async () => {
    await expect(resolveSafeTarget('http://[2606:4700:4700::1111]/')).resolves.toMatchObject({ address: '2606:4700:4700::1111', family: 6 });
    await expect(resolveSafeTarget('http://[::ffff:8.8.8.8]/')).resolves.toMatchObject({ address: '::ffff:808:808' });
    await expect(resolveSafeTarget('http://[::FFFF:0:8.8.8.8]/')).resolves.toMatchObject({ address: '::ffff:0:808:808' });
  });

  it('refuses a name that resolves to a private address', async () => {
    const error = await refusal('https://hooks.example.com/x', resolvesTo('10.0.0.7'));
    expect(error).toBeInstanceOf(UnsafeWebhookTargetError);
    expect((error as Error).message).toMatch(/10\.0\.0\.7/);
  });

  it('refuses a name when any one of its addresses is private', async () => {
    expect(await refusal('https://hooks.example.com/x', resolvesTo('93.184.215.14', '::1'))).toBeInstanceOf(UnsafeWebhookTargetError);
  });

  it('refuses schemes other than http(s)', async () => {
    for (const url of ['ftp://hooks.example.com/x', 'file:///etc/passwd', 'gopher://hooks.example.com/']) {
      expect(await refusal(url)).toBeInstanceOf(UnsafeWebhookTargetError);
    }
  });

  it('refuses credentials in the URL without repeating them', async () => {
    const error = await refusal('https://user:s3cret@hooks.example.com/x');
    expect(error).toBeInstanceOf(UnsafeWebhookTargetError);
    expect((error as UnsafeWebhookTargetError).message).toContain('https://***@hooks.example.com/x');
    expect((error as UnsafeWebhookTargetError).message).not.toMatch(/user|s3cret/);
    expect((error as UnsafeWebhookTargetError).url).toBe('https://***@hooks.example.com/x');
  });

  it('refuses an empty userinfo too (the URL parser drops it silently)', async () => {
    expect(await refusal('https://@hooks.example.com/x')).toBeInstanceOf(UnsafeWebhookTargetError);
    expect(await refusal('https://:@hooks.example.com/x')).toBeInstanceOf(UnsafeWebhookTargetError);
  });

  it('reports a name that does not resolve as retryable', async () => {
    const error = await refusal('https://nowhere.example/', async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    });
    expect(error).toBeInstanceOf(WebhookTargetUnresolvedError);
    expect((error as WebhookTargetUnresolvedError).retryable).toBe(true);
  });

  it('pins the first resolved address of a public name and keeps the name for Host and SNI', async () => {
    const target = await resolveSafeTarget('https://Hooks.Example.com/tuning?x=1', { lookup: resolvesTo('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c') });
    expect(target).toMatchObject({ hostname: 'hooks.example.com', port: 443, address: '93.184.215.14', family: 4 });
  });

  it('accepts public IP literals without resolving', async () => {
    const target = await resolveSafeTarget('http://8.8.8.8:8080/', {
      lookup: async () => {
        throw new Error('must not resolve a literal');
      },
    });
    expect(target).toMatchObject({ address: '8.8.8.8', port: 8080 });
  });

  it('allow-list permits 127.0.0.1 explicitly, and only it', async () => {
    await expect(resolveSafeTarget('http://127.0.0.1:9999/hook', { allow: ['127.0.0.1'] })).resolves.toMatchObject({ address: '127.0.0.1', port: 9999 });
    await expect(resolveSafeTarget('http://127.0.0.2/hook', { allow: ['127.0.0.1'] })).rejects.toBeInstanceOf(UnsafeWebhookTargetError);
    await expect(resolveSafeTarget('http://10.0.0.1/hook', { allow: ['127.0.0.1'] })).rejects.toBeInstanceOf(UnsafeWebhookTargetError);
  });

  it('refuses a bad allow-list entry with a typed error naming it, never a RangeError', async () => {
    const error = await resolveSafeTarget('http://10.2.3.4/', { allow: ['127.0.0.1', '10.0.0.0/33'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookAllowListError);
    expect((error as WebhookAllowListError).issues).toEqual([{ path: '[1]', message: expect.stringContaining('"10.0.0.0/33"') }]);
  });

  it('allow-list takes CIDRs and host names', async () => {
    await expect(resolveSafeTarget('http://10.2.3.4/', { allow: ['10.0.0.0/8'] })).resolves.toMatchObject({ address: '10.2.3.4' });
    await expect(resolveSafeTarget('http://receiver.local/', { allow: ['receiver.local'], lookup: resolvesTo('192.168.1.5') })).resolves.toMatchObject({ address: '192.168.1.5' });
  });
});

describe('nonPublicReason', () => {
  it('calls public addresses public', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '::ffff:0:8.8.8.8', '172.32.0.1', '100.128.0.1', '2001:200::1']) {
      expect(nonPublicReason(address), address).toBeUndefined();
    }
  });

  it('names the range', () => {
    expect(nonPublicReason('169.254.169.254')).toMatch(/metadata/);
    expect(nonPublicReason('::ffff:10.0.0.1')).toMatch(/IPv4-mapped private/);
    expect(nonPublicReason('::ffff:0:7f00:1')).toMatch(/IPv4-translated loopback/);
    expect(nonPublicReason('::ffff:0:a9fe:a9fe')).toMatch(/IPv4-translated link-local/);
    expect(nonPublicReason('::7f00:1')).toMatch(/IPv4-compatible/);
    expect(nonPublicReason('2002:808:808::1')).toMatch(/6to4/);
    expect(nonPublicReason('2001:0:4136:e378:8000:63bf:3fff:fdd2')).toMatch(/Teredo/);
    expect(nonPublicReason('4000::1')).toMatch(/2000::\/3/);
  });

  it('refuses a scoped (zone id) address rather than throwing on it', () => {
    expect(nonPublicReason('fe80::1%eth0')).toMatch(/zone id/);
    expect(nonPublicReason('2606:4700:4700::1111%1')).toMatch(/zone id/);
  });
});

describe('net.BlockList, as the guard relies on it', () => {
  const v4 = new BlockList();
  v4.addSubnet('127.0.0.0', 8, 'ipv4');

  it('matches an IPv4 rule against the IPv4-mapped form, but not the translated or compatible form', () => {
    expect(v4.check('::ffff:7f00:1', 'ipv6')).toBe(true);
    expect(v4.check('::ffff:0:7f00:1', 'ipv6')).toBe(false);
    expect(v4.check('::7f00:1', 'ipv6')).toBe(false);
  });

  it('matches an IPv6 rule over ::ffff:0:0/96 against plain IPv4 addresses', () => {
    const mapped = new BlockList();
    mapped.addSubnet('::ffff:0:0', 96, 'ipv6');
    expect(mapped.check('10.0.0.1', 'ipv4')).toBe(true);
  });

  it('so an IPv4 allow entry admits its IPv4-mapped form only, and an IPv4-mapped entry admits plain IPv4', () => {
    const loopback = WebhookAllowList.parse(['127.0.0.1']);
    expect(loopback.addressAllowed('::ffff:127.0.0.1')).toBe(true);
    expect(loopback.addressAllowed('::ffff:0:127.0.0.1')).toBe(false);
    expect(loopback.addressAllowed('::127.0.0.1')).toBe(false);
    expect(WebhookAllowList.parse(['::ffff:10.0.0.0/104']).addressAllowed('10.1.2.3')).toBe(true);
  });
});

describe('allowEntryProblem', () => {
  it.each(['localhost', 'receiver.local', 'Receiver.Local.', '127.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '::1', '::1/128', '[::1]', 'fd00::/8', ' 10.0.0.0/8 '])('accepts %s', (entry) => {
    expect(allowEntryProblem(entry)).toBeUndefined();
  });

  it.each([
    ['10.0.0.0/33', /0 to 32/],
    ['::1/129', /0 to 128/],
    ['10.0.0.0/', /prefix length \(none\)/],
    ['10.0.0.0/8x', /prefix length 8x/],
    ['10.0.0.0/-1', /prefix length -1/],
    ['10.0.0/8', /not a CIDR/],
    ['10.0.0.0/8/9', /prefix length 8\/9/],
    ['http://127.0.0.1', /not a host name/],
    ['*.example.com', /not a host name/],
    ['127.1', /not a valid IPv4/],
    ['0x7f000001', /not a valid IPv4/],
    ['fe80::1%eth0', /zone id/],
    ['', /empty/],
  ])('refuses %s', (entry, why) => {
    expect(allowEntryProblem(entry)).toMatch(why);
  });
});

