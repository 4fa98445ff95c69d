import * as z from 'zod';

/** Webhook URL rules, shared by the spec's `notify` entries and subscriptions. */

/**
 * Whether a URL names a user or password (`https://user:pass@host/`, also an empty `https://@host/`).
 * Read the way the WHATWG parser reads it, and from the raw text too, since the parser drops an
 * empty userinfo silently.
 */
export function hasUserinfo(url: string): boolean {
  const authority = /^[\s\x00-\x1f]*[a-z][a-z0-9+.\-]*:[\\/\t\n\r]*([^\\/?#]*)/i.exec(url)?.[1] ?? '';
  if (authority.includes('@')) return true;
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}

/**
 * The URL with any userinfo replaced by `***`, for errors, lists and dead letters. URLs without
 * userinfo come back unchanged.
 *
 * @example
 *   redactWebhookUrl('https://user:pass@hooks.example.com/x'); // 'https://***@hooks.example.com/x'
 */
export function redactWebhookUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // not a URL, so no telling where a userinfo would end: drop everything before the last '@'
    return url.includes('@') ? `***${url.slice(url.lastIndexOf('@'))}` : url;
  }
  if (!hasUserinfo(url)) return url;
  return `${parsed.protocol}//***@${parsed.host}${parsed.pathname}${parsed.search}${parsed.hash}`;
}

/**
 * Free text (an error message) with the userinfo of every http(s) URL in it replaced by `***`.
 *
 * @example
 *   redactUrlsIn('webhook target https://u:p@h/x refused'); // 'webhook target https://***@h/x refused'
 */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b(https?:\/\/)[^\s\\/?#]*@/gi, '$1***@');
}

/**
 * A webhook URL wherever one is accepted (a subscription, a spec's `notify` entry): http(s), and no
 * userinfo. Credentials in a URL would be stored, listed and dead-lettered with it, and they are
 * never sent (receivers authenticate us by the Standard Webhooks signature); the message never
 * repeats the URL.
 *
 * @example
 *   z.strictObject({ url: webhookUrlSchema }).parse({ url: 'https://hooks.example.com/tuning' });
 */
export const webhookUrlSchema = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .refine((url) => !hasUserinfo(url), 'must not contain a user name or password (user:pass@); receivers check the webhook signature instead');
