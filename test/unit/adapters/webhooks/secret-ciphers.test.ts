import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KmsEnvelopeCipher, LocalKeyFileCipher, SealedSecretError } from '../../../../shared/adapters/webhooks/secret-ciphers';

const dir = () => mkdtempSync(join(tmpdir(), 'tunewire-cipher-'));

describe('LocalKeyFileCipher', () => {
  it('makes its key file on first use, readable by its owner only, and opens what it sealed', async () => {
    const path = join(dir(), 'webhook-secrets.key');
    const cipher = new LocalKeyFileCipher({ path });

    const sealed = await cipher.seal('whsec_abc');

    expect(sealed).toMatch(/^v1:local:/);
    expect(sealed).not.toContain('whsec_abc');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // another process with the same file reads it
    expect(await new LocalKeyFileCipher({ path }).open(sealed)).toBe('whsec_abc');
  });

  it('refuses a value sealed under another key, or changed', async () => {
    const sealed = await new LocalKeyFileCipher({ path: join(dir(), 'a.key') }).seal('whsec_abc');
    await expect(new LocalKeyFileCipher({ path: join(dir(), 'b.key') }).open(sealed)).rejects.toBeInstanceOf(SealedSecretError);
    const cipher = new LocalKeyFileCipher({ path: join(dir(), 'c.key') });
    const parts = (await cipher.seal('whsec_abc')).split(':');
    parts[4] = Buffer.from('tampered').toString('base64');
    await expect(cipher.open(parts.join(':'))).rejects.toBeInstanceOf(SealedSecretError);
  });

  it('tightens a key file that others could read', async () => {
    const path = join(dir(), 'loose.key');
    writeFileSync(path, Buffer.alloc(32, 7).toString('base64'), { mode: 0o644 });
    await new LocalKeyFileCipher({ path }).seal('x');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

/** KMS as far as the cipher uses it: data keys bound to an encryption context, "encrypted" by a prefix. */
function fakeKms(): { client: KMSClient; calls: string[] } {
  const calls: string[] = [];
  const client = {
    send: async (command: GenerateDataKeyCommand | DecryptCommand) => {
      calls.push(command.constructor.name);
      if (command instanceof GenerateDataKeyCommand) {
        const key = Buffer.alloc(32, calls.length);
        return { Plaintext: new Uint8Array(key), CiphertextBlob: new Uint8Array(Buffer.concat([Buffer.from('kms:'), key])) };
      }
      expect(command.input.EncryptionContext).toEqual({ purpose: 'tunewire-webhook-secrets' });
      return { Plaintext: new Uint8Array(Buffer.from(command.input.CiphertextBlob as Uint8Array).subarray(4)) };
    },
  } as unknown as KMSClient;
  return { client, calls };
}

describe('KmsEnvelopeCipher', () => {
  it('seals each value under a fresh data key, keeps only its encrypted form, and caches the decrypted key', async () => {
    const { client, calls } = fakeKms();
    const cipher = new KmsEnvelopeCipher({ client, keyId: 'alias/tunewire' });

    const sealed = await cipher.seal('{"secret":"whsec_abc"}');

    expect(sealed).toMatch(/^v1:kms:/);
    expect(sealed).not.toContain('whsec_abc');
    expect(await cipher.open(sealed)).toBe('{"secret":"whsec_abc"}');
    expect(await cipher.open(sealed)).toBe('{"secret":"whsec_abc"}');
    expect(calls).toEqual(['GenerateDataKeyCommand', 'DecryptCommand']);
  });

  it('refuses a locally sealed value', async () => {
    const local = await new LocalKeyFileCipher({ path: join(dir(), 'k.key') }).seal('x');
    await expect(new KmsEnvelopeCipher({ client: fakeKms().client, keyId: 'k' }).open(local)).rejects.toBeInstanceOf(SealedSecretError);
  });
});
