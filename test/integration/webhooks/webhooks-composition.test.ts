import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DynamoDbWebhookStore } from '../../../shared/adapters/dynamodb/dynamodb-webhook-store';
import { ConfigError } from '../../../shared/config';
import { eventIds, makeEvent } from '../../../shared/domain/events';
import { systemClock } from '../../../shared/ports/clock';
import { newWebhookSecret } from '../../../shared/ports/webhooks';
import { notify } from '../../../shared/use-cases/notify';
import { createNotifyDependencies, loadWebhookConfig } from '../../../shared/webhooks-composition';
import { freshLedger } from '../../support/dynamodb';

describe('loadWebhookConfig', () => {
  it('reads the allow list, trimmed', () => {
    expect(loadWebhookConfig({ TUNEWIRE_WEBHOOK_ALLOW: ' 127.0.0.1, ::1/128 ,localhost,' }).allow).toEqual(['127.0.0.1', '::1/128', 'localhost']);
  });

  it('refuses a bad TUNEWIRE_WEBHOOK_ALLOW entry at start with a ConfigError naming the variable and every bad entry', () => {
    const error = (() => {
      try {
        return loadWebhookConfig({ TUNEWIRE_WEBHOOK_ALLOW: '127.0.0.1,10.0.0.0/33,10.0.0/8,localhost' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'TUNEWIRE_WEBHOOK_ALLOW', message: expect.stringContaining('entry "10.0.0.0/33"') },
      { path: 'TUNEWIRE_WEBHOOK_ALLOW', message: expect.stringContaining('entry "10.0.0/8"') },
    ]);
    expect((error as ConfigError).message).toMatch(/TUNEWIRE_WEBHOOK_ALLOW: entry "10\.0\.0\.0\/33" has prefix length 33/);
  });
});

describe('loadWebhookConfig retry schedule', () => {
  it('is Standard Webhooks by default, configurable, and cut short by TUNEWIRE_WEBHOOK_MAX_ATTEMPTS', () => {
    expect(loadWebhookConfig({}).scheduleMs).toEqual([0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(loadWebhookConfig({ TUNEWIRE_WEBHOOK_RETRY_SCHEDULE: '0, 1s, 2m, 1h, 250' }).scheduleMs).toEqual([0, 1_000, 120_000, 3_600_000, 250]);
    expect(loadWebhookConfig({ TUNEWIRE_WEBHOOK_MAX_ATTEMPTS: '3' }).scheduleMs).toEqual([0, 5_000, 300_000]);
  });

  it('refuses a schedule that does not start at once or does not parse', () => {
    expect(() => loadWebhookConfig({ TUNEWIRE_WEBHOOK_RETRY_SCHEDULE: '5s,1m' })).toThrow(/start with 0/);
    expect(() => loadWebhookConfig({ TUNEWIRE_WEBHOOK_RETRY_SCHEDULE: '0,soon' })).toThrow(/comma-separated waits/);
  });
});

describe('createNotifyDependencies', () => {
  it('seals secrets with the key file it is given', async () => {
    const { client, tableName, ledger } = await freshLedger('webhook-keyfile');
    const secretKeyFile = join(mkdtempSync(join(tmpdir(), 'tunewire-home-')), 'webhook-secrets.key');
    const deps = createNotifyDependencies({ client, tableName, ledger, clock: systemClock, config: loadWebhookConfig({}), secretKeyFile });
    const secret = newWebhookSecret();
    await deps.store.putSubscription({ id: 'sub_k', url: 'https://hooks.example.com/', events: ['*'], secret, enabled: true, createdAt: '2026-01-01T00:00:00.000Z' });

    expect(existsSync(secretKeyFile)).toBe(true);
    expect((await deps.store.getSubscription('sub_k'))?.secret).toBe(secret);
    await expect(new DynamoDbWebhookStore({ client, tableName }).getSubscription('sub_k')).rejects.toThrow(/sealed/);
  });

  it('keeps URL credentials out of dead letters of a subscription stored before they were refused', async () => {
    const { client, tableName, ledger } = await freshLedger('webhook-redact');
    const deps = createNotifyDependencies({ client, tableName, ledger, clock: systemClock, config: loadWebhookConfig({ TUNEWIRE_WEBHOOK_MAX_ATTEMPTS: '1' }) });
    const raw = new DynamoDbWebhookStore({ client, tableName });
    await raw.putSubscription({ id: 'sub_old', url: 'https://user:s3cret@hooks.example.com/t', events: ['*'], secret: newWebhookSecret(), enabled: true, createdAt: '2025-01-01T00:00:00.000Z' });
    const event = makeEvent('job.finished', eventIds.finished('job-1'), 'job-1', { jobId: 'job-1', name: 'n', provider: 'local', status: 'succeeded' }, new Date());

    const result = await notify(deps, event);

    expect(result.targets).toEqual([expect.objectContaining({ outcome: 'dead-lettered', error: expect.stringMatching(/credentials/) })]);
    const stored = await raw.listDeadLetters();
    expect(stored).toEqual([expect.objectContaining({ subscriptionId: 'sub_old', url: 'https://***@hooks.example.com/t' })]);
    expect(JSON.stringify(stored)).not.toMatch(/s3cret|user:/);
    expect(JSON.stringify(await deps.store.listDeadLetters())).not.toMatch(/s3cret|user:/);
  });

  it('lists a dead letter recorded with credentials (before they were redacted) without them', async () => {
    const { client, tableName, ledger } = await freshLedger('webhook-redact-old');
    const deps = createNotifyDependencies({ client, tableName, ledger, clock: systemClock, config: loadWebhookConfig({}) });
    const event = makeEvent('job.finished', eventIds.finished('job-2'), 'job-2', { jobId: 'job-2', name: 'n', provider: 'local', status: 'failed' }, new Date());
    const url = 'https://user:s3cret@hooks.example.com/t';
    await new DynamoDbWebhookStore({ client, tableName }).recordDeadLetter({
      subscriptionId: 'spec:job-2',
      url,
      eventId: event.id,
      event,
      attempts: 1,
      lastError: `webhook target ${url} refused: credentials in the URL are not allowed`,
      at: '2025-01-01T00:00:00.000Z',
    });

    expect(await deps.store.listDeadLetters()).toEqual([
      expect.objectContaining({ url: 'https://***@hooks.example.com/t', lastError: 'webhook target https://***@hooks.example.com/t refused: credentials in the URL are not allowed' }),
    ]);
  });
});
