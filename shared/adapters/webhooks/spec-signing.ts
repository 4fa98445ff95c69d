import { createHmac } from 'node:crypto';
import type { SigningSecrets } from '../../use-cases/notify';

/**
 * The signing secret of one spec `notify` URL, derived from the deployment's master key:
 * `whsec_` + base64(HMAC-SHA256(master key bytes, "tunewire spec notify v1\n" + url)). Each URL
 * has its own secret, so a receiver can verify only what was sent to it and forge nothing for
 * another; the master key itself never leaves the deployment (nor is it ever sent). Rotating the
 * master key: the previous one keeps signing (a second signature) while it is still configured.
 *
 * @example
 *   const signing = specSigning({ masterKey: 'whsec_…', previousMasterKeys: [] });
 *   signing('https://hooks.example.com/t'); // { secret: 'whsec_…', previousSecrets: [] }
 */
export function specSigning(keys: { masterKey: string; previousMasterKeys?: readonly string[] }): (url: string) => SigningSecrets {
  return (url) => ({
    secret: deriveSpecSecret(keys.masterKey, url),
    previousSecrets: (keys.previousMasterKeys ?? []).map((k) => deriveSpecSecret(k, url)),
  });
}

export function deriveSpecSecret(masterKey: string, url: string): string {
  const key = Buffer.from(masterKey.replace(/^whsec_/, ''), 'base64');
  return `whsec_${createHmac('sha256', key).update(`tunewire spec notify v1\n${url}`).digest('base64')}`;
}
