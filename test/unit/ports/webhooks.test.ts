import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import { zodIssues } from '../../../shared/domain/spec';
import { hasUserinfo, maskWebhookUrl, redactUrlsIn, redactWebhookUrl, targetKeyOf, webhookUrlSchema } from '../../../shared/ports/webhooks';

describe('hasUserinfo', () => {
  it.each(['https://user:pass@hooks.example.com/', 'https://user@hooks.example.com/', 'https://:pass@hooks.example.com/', 'https://@hooks.example.com/', 'HTTPS://a@b@hooks.example.com/', 'https:\\\\u:p@hooks.example.com/'])(
    'finds the userinfo in %s',
    (url) => {
      expect(hasUserinfo(url)).toBe(true);
    },
  );

  it.each(['https://hooks.example.com/', 'https://hooks.example.com/a@b', 'https://hooks.example.com/?to=a@b', 'https://hooks.example.com/#a@b', 'https://hooks.example.com:8443/x'])('finds none in %s', (url) => {
    expect(hasUserinfo(url)).toBe(false);
  });
});

describe('redactWebhookUrl', () => {
  it('replaces the userinfo with *** and keeps the rest', () => {
    expect(redactWebhookUrl('https://user:pass@hooks.example.com:8443/t?x=1#f')).toBe('https://***@hooks.example.com:8443/t?x=1#f');
    expect(redactWebhookUrl('https://a@b:c@hooks.example.com/t')).toBe('https://***@hooks.example.com/t');
  });

  it('leaves a URL without userinfo as it is', () => {
    expect(redactWebhookUrl('https://hooks.example.com/a@b')).toBe('https://hooks.example.com/a@b');
  });

  it('drops everything before the last @ of a string that is not a URL', () => {
    expect(redactWebhookUrl('https://us er:pass@ho st/')).toBe('***@ho st/');
  });
});

describe('redactUrlsIn', () => {
  it('redacts the userinfo of every URL in a message, and nothing else', () => {
    expect(redactUrlsIn('webhook target https://user:s3cret@hooks.example.com/x refused; see http://a@b@h.example/y and mail@example.com')).toBe(
      'webhook target https://***@hooks.example.com/x refused; see http://***@h.example/y and mail@example.com',
    );
  });
});

describe('webhookUrlSchema', () => {
  const entry = z.strictObject({ url: webhookUrlSchema });

  it('accepts an http(s) URL', () => {
    expect(entry.parse({ url: 'https://hooks.example.com/tuning' })).toEqual({ url: 'https://hooks.example.com/tuning' });
  });

  it('refuses userinfo as a field error that does not repeat it', () => {
    const result = entry.safeParse({ url: 'https://user:s3cret@hooks.example.com/tuning' });
    if (result.success) throw new Error('accepted a URL with credentials');
    expect(zodIssues(result.error)).toEqual([{ path: 'url', message: expect.stringMatching(/user name or password/) }]);
    expect(JSON.stringify(result.error)).not.toMatch(/s3cret/);
  });

  it('refuses other schemes', () => {
    expect(entry.safeParse({ url: 'ftp://hooks.example.com/' }).success).toBe(false);
  });
});

describe('maskWebhookUrl', () => {
  it('keeps scheme and host (with port) and masks path, query and fragment', () => {
    expect(maskWebhookUrl('https://hooks.slack.com/services/T0/B0/XXXX')).toBe('https://hooks.slack.com/…');
    expect(maskWebhookUrl('http://127.0.0.1:8080/hook?token=abc')).toBe('http://127.0.0.1:8080/…');
    expect(maskWebhookUrl('https://hooks.example.com/?k=1')).toBe('https://hooks.example.com/…');
    expect(maskWebhookUrl('https://user:pass@hooks.example.com/x')).toBe('https://hooks.example.com/…');
  });

  it('shows a bare origin as it is, and nothing of what is not a URL', () => {
    expect(maskWebhookUrl('https://hooks.example.com')).toBe('https://hooks.example.com/');
    expect(maskWebhookUrl('not a url with s3cret')).toBe('…');
  });
});

describe('targetKeyOf', () => {
  it('is 16 hex digits, the same for the same URL, different for another', () => {
    expect(targetKeyOf('https://a.example/x')).toMatch(/^[0-9a-f]{16}$/);
    expect(targetKeyOf('https://a.example/x')).toBe(targetKeyOf('https://a.example/x'));
    expect(targetKeyOf('https://a.example/x')).not.toBe(targetKeyOf('https://a.example/y'));
  });
});
