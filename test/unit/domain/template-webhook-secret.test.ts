import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/domain/errors';
import { parseTemplateDocument, standardWebhookKey } from '../../../shared/domain/template';

const spec = {
  name: 'churn-xgb',
  provider: 'local',
  objective: { metric: 'validation:auc', goal: 'maximize' },
  parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
  strategy: 'random',
  budget: { maxTrials: 4, parallelTrials: 2 },
  trial: { command: ['python', 'train.py'] },
};

const issuesOf = (document: unknown): string[] => {
  try {
    parseTemplateDocument(document);
    return [];
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.issues.map((i) => i.path);
  }
};

describe('standardWebhookKey', () => {
  it('decodes whsec_ + padded base64 of 16 bytes or more', () => {
    const bytes = Buffer.from('a-thirty-two-byte-secret-for-tst');
    expect(standardWebhookKey(`whsec_${bytes.toString('base64')}`)).toEqual(bytes);
    expect(standardWebhookKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')?.length).toBe(24);
  });

  for (const [why, secret] of [
    ['no prefix', Buffer.alloc(32, 1).toString('base64')],
    ['a stray = inside', 'whsec_abc=defghijklmnopqrstuvwxyz'],
    ['characters outside base64', 'whsec_not*base64!not*base64!'],
    ['base64url characters', 'whsec_ab-_cdefghijklmnopqrstuvw'],
    ['missing padding', `whsec_${Buffer.alloc(20, 7).toString('base64').replace(/=+$/, '')}`],
    ['stray low bits in the last character', 'whsec_AAAAAAAAAAAAAAAAAAAAAB=='],
    ['fewer than 16 bytes', `whsec_${Buffer.alloc(15, 7).toString('base64')}`],
    ['whitespace', `whsec_${Buffer.alloc(32, 1).toString('base64')} `],
  ] as const) {
    it(`refuses ${why}`, () => expect(standardWebhookKey(secret)).toBeUndefined());
  }

  it('accepts only secrets the standardwebhooks package reads as the same key', () => {
    // the package is a second implementation of the spec: a secret we accept signs alike in both
    const secretChars = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='.split('')), minLength: 20, maxLength: 60 });
    const secret = fc.oneof(
      fc.uint8Array({ minLength: 16, maxLength: 64 }).map((b) => `whsec_${Buffer.from(b).toString('base64')}`),
      secretChars.map((s) => `whsec_${s}`),
    );
    fc.assert(
      fc.property(secret, (s) => {
        const key = standardWebhookKey(s);
        if (!key) return;
        const at = new Date('2026-11-25T08:00:00Z');
        const ours = `v1,${createHmac('sha256', key).update(`msg_1.${Math.floor(at.getTime() / 1000)}.{}`).digest('base64')}`;
        expect(new Webhook(s).sign('msg_1', at, '{}')).toBe(ours);
      }),
      { seed: 12, numRuns: 500 },
    );
  });
});

describe('the template document webhook trigger', () => {
  it('names triggers.webhook.secret for a Standard Webhooks secret that is not base64, alongside other bad fields', () => {
    expect(issuesOf({ spec, policy: 'sometimes', triggers: { webhook: { kind: 'standard', secret: 'whsec_abc=defghijklmnopqrstuvwxyz' } } })).toEqual(['policy', 'triggers.webhook.secret']);
  });

  it('takes any HMAC secret of 16 characters or more, and refuses the timestamp header as its signature header', () => {
    expect(issuesOf({ spec, triggers: { webhook: { kind: 'hmac', secret: 'not base64 at all!!' } } })).toEqual([]);
    expect(issuesOf({ spec, triggers: { webhook: { kind: 'hmac', secret: 'not base64 at all!!', header: 'x-tunewire-timestamp' } } })).toEqual(['triggers.webhook.header']);
  });
});
