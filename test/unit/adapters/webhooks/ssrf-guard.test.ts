import { describe, expect, it } from 'vitest';
import { nonPublicReason, resolveSafeTarget, UnsafeWebhookTargetError, WebhookTargetUnresolvedError, type LookupAll } from '../../../../shared/adapters/webhooks/ssrf-guard';

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

  it('refuses credentials in the URL', async () => {
    expect(await refusal('https://user:pw@hooks.example.com/x')).toBeInstanceOf(UnsafeWebhookTargetError);
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

  it('allow-list takes CIDRs and host names', async () => {
    await expect(resolveSafeTarget('http://10.2.3.4/', { allow: ['10.0.0.0/8'] })).resolves.toMatchObject({ address: '10.2.3.4' });
    await expect(resolveSafeTarget('http://receiver.local/', { allow: ['receiver.local'], lookup: resolvesTo('192.168.1.5') })).resolves.toMatchObject({ address: '192.168.1.5' });
  });
});

describe('nonPublicReason', () => {
  it('calls public addresses public', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1']) expect(nonPublicReason(address)).toBeUndefined();
  });

  it('names the range', () => {
    expect(nonPublicReason('169.254.169.254')).toMatch(/metadata/);
    expect(nonPublicReason('::ffff:10.0.0.1')).toMatch(/IPv4-mapped private/);
  });
});
