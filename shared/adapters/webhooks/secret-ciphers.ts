import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { TunewireError } from '../../domain/errors';
import type { SecretCipher } from '../../ports/webhooks';

/**
 * Envelope encryption of webhook secrets. Every sealed value is AES-256-GCM under a data key, and
 * names its scheme: `v1:local:<iv>:<tag>:<ciphertext>` (the key is a file) or
 * `v1:kms:<encrypted data key>:<iv>:<tag>:<ciphertext>` (KMS made the data key and alone can open
 * it). All parts base64.
 */

export class SealedSecretError extends TunewireError {
  readonly code = 'WEBHOOK.SECRET_UNREADABLE';
  readonly retryable = false;
  constructor(problem: string, options?: { cause?: unknown }) {
    super(`a sealed webhook secret could not be opened: ${problem}`, options);
  }
}

const AES = 'aes-256-gcm';
/** KMS binds the data key to this context: a key made for something else does not open here. */
const ENCRYPTION_CONTEXT = { purpose: 'tunewire-webhook-secrets' };

function aesSeal(key: Buffer, plaintext: string): string[] {
  const iv = randomBytes(12);
  const cipher = createCipheriv(AES, key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64'));
}

function aesOpen(key: Buffer, [iv, tag, ciphertext]: string[]): string {
  try {
    const decipher = createDecipheriv(AES, key, Buffer.from(iv ?? '', 'base64'));
    decipher.setAuthTag(Buffer.from(tag ?? '', 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext ?? '', 'base64')), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new SealedSecretError('wrong key, or the value was changed', { cause: error });
  }
}

function parts(sealed: string, scheme: string, count: number): string[] {
  const all = sealed.split(':');
  if (all[0] !== 'v1' || all[1] !== scheme || all.length !== count + 2) throw new SealedSecretError(`not a v1:${scheme} value`);
  return all.slice(2);
}

/**
 * The local key: 32 random bytes in a file only its owner may read (0600), made on first use under
 * the state directory. Losing the file loses the stored secrets (subscriptions must be made again).
 *
 * @example
 *   const cipher = new LocalKeyFileCipher({ path: join(home, 'webhook-secrets.key') });
 */
export class LocalKeyFileCipher implements SecretCipher {
  private key: Buffer | undefined;
  constructor(private readonly options: { path: string }) {}

  async seal(plaintext: string): Promise<string> {
    return ['v1', 'local', ...aesSeal(this.loadKey(), plaintext)].join(':');
  }

  async open(sealed: string): Promise<string> {
    return aesOpen(this.loadKey(), parts(sealed, 'local', 3));
  }

  private loadKey(): Buffer {
    if (this.key) return this.key;
    const { path } = this.options;
    try {
      // O_EXCL: two processes starting at once do not each write a key of their own
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, randomBytes(32).toString('base64'));
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new SealedSecretError(`${path} does not hold a 32-byte key`);
    this.key = key;
    return key;
  }
}

/**
 * KMS envelope: each seal asks KMS for a fresh data key (GenerateDataKey), encrypts with it and
 * keeps only its encrypted form; opening asks KMS to decrypt that (kms:Decrypt), cached for the
 * life of the process, as the same few subscriptions are read on every event.
 *
 * @example
 *   const cipher = new KmsEnvelopeCipher({ client: new KMSClient({ region }), keyId: config.kmsKeyId });
 */
export class KmsEnvelopeCipher implements SecretCipher {
  private readonly dataKeys = new Map<string, Promise<Buffer>>();
  constructor(private readonly options: { client: KMSClient; keyId: string }) {}

  async seal(plaintext: string): Promise<string> {
    const out = await this.options.client.send(new GenerateDataKeyCommand({ KeyId: this.options.keyId, KeySpec: 'AES_256', EncryptionContext: ENCRYPTION_CONTEXT }));
    if (!out.Plaintext || !out.CiphertextBlob) throw new SealedSecretError('KMS returned no data key');
    const key = Buffer.from(out.Plaintext);
    try {
      return ['v1', 'kms', Buffer.from(out.CiphertextBlob).toString('base64'), ...aesSeal(key, plaintext)].join(':');
    } finally {
      key.fill(0);
    }
  }

  async open(sealed: string): Promise<string> {
    const [encryptedKey, ...rest] = parts(sealed, 'kms', 4);
    return aesOpen(await this.dataKey(encryptedKey as string), rest);
  }

  private dataKey(encrypted: string): Promise<Buffer> {
    let key = this.dataKeys.get(encrypted);
    if (!key) {
      key = this.options.client
        .send(new DecryptCommand({ CiphertextBlob: Buffer.from(encrypted, 'base64'), EncryptionContext: ENCRYPTION_CONTEXT }))
        .then((out) => {
          if (!out.Plaintext) throw new SealedSecretError('KMS returned no plaintext key');
          return Buffer.from(out.Plaintext);
        });
      // a failed decrypt (throttling) is not cached
      key.catch(() => this.dataKeys.delete(encrypted));
      this.dataKeys.set(encrypted, key);
    }
    return key;
  }
}
