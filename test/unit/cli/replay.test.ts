import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkReplay, readEventsFile, replayEvents, ReplayFailedError, replaySummary } from '../../../shared/cli/replay';
import { ProviderError, ValidationError } from '../../../shared/domain/errors';
import type { HandledEvent } from '../../../shared/use-cases/provider-events';
import { loadEvent } from '../../support/fixtures';

/** Routes every event to one function whose answers the test scripts, one per event id. */
function scriptedStack(answers: Record<string, () => Promise<HandledEvent>>) {
  return {
    targets: { 'status-change': async (event: unknown) => (answers[(event as { id: string }).id] as () => Promise<HandledEvent>)() },
    bus: { route: () => ['status-change'], drain: async () => undefined },
  };
}

const event = (id: string) => ({ ...loadEvent('local/tuning-job-state-change.running.json'), id });

describe('replayEvents', () => {
  it('reports every event, also those after one whose handler threw', async () => {
    const stack = scriptedStack({
      a: async () => ({ outcome: 'applied', jobId: 'j1' }),
      b: async () => {
        throw new ProviderError('local', 'describe', 'engine gone', { retryable: true });
      },
      c: async () => ({ outcome: 'duplicate', jobId: 'j1' }),
    });

    const results = await replayEvents(stack, [event('a'), event('b'), { not: 'an event' }, event('c')]);

    expect(results.map((r) => [r.index, r.outcome])).toEqual([
      [0, 'applied'],
      [1, 'failed'],
      [2, 'rejected'],
      [3, 'duplicate'],
    ]);
    expect(results[1]?.detail).toContain('engine gone');
    expect(replaySummary(4, results)).toBe('4 events: 1 applied, 1 failed, 1 rejected, 1 duplicate');
  });
});

describe('checkReplay', () => {
  const ok = [{ index: 0, outcome: 'applied' as const }];

  it('passes a replay where nothing was rejected or failed', () => {
    expect(() => checkReplay('f.jsonl', 1, [...ok, { index: 1, outcome: 'stale' }, { index: 2, outcome: 'ignored' }])).not.toThrow();
  });

  it('is bad input (exit 2) when the file held no event, or any event was rejected', () => {
    expect(() => checkReplay('empty.jsonl', 0, [])).toThrow(ValidationError);
    expect(() => checkReplay('f.jsonl', 2, [...ok, { index: 1, outcome: 'rejected' }])).toThrow(/rejected events \(2 events: 1 applied, 1 rejected\)/);
  });

  it('is a failure (exit 1) when a handler threw', () => {
    expect(() => checkReplay('f.jsonl', 2, [...ok, { index: 1, outcome: 'failed' }])).toThrow(ReplayFailedError);
  });

  it('reads an empty file as no events', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'replay-')), 'empty.jsonl');
    writeFileSync(file, '\n');
    expect(readEventsFile(file)).toEqual([]);
  });
});
