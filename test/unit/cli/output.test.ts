import { afterEach, describe, expect, it, vi } from 'vitest';
import { consoleOutput, printable, trialTable } from '../../../shared/cli/output';
import type { Trial } from '../../../shared/domain/trial';

describe('printable', () => {
  it('shows control characters as \\u escapes and keeps newline, tab and ordinary text', () => {
    expect(printable('evt\u001b[2J\rgone\u0007')).toBe('evt\\u001b[2J\\u000dgone\\u0007');
    expect(printable('a\tb\nc é 日本')).toBe('a\tb\nc é 日本');
    expect(printable('x\u009b31m\u202eevil')).toBe('x\\u009b31m\\u202eevil');
  });
});

describe('consoleOutput', () => {
  afterEach(() => vi.restoreAllMocks());

  function captured(stream: NodeJS.WriteStream): string[] {
    const written: string[] = [];
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    return written;
  }

  it('never writes a raw control character from an event id to the terminal', () => {
    const out = captured(process.stdout);
    const err = captured(process.stderr);
    const trial: Trial = { trialId: 't1\u001b]0;pwned\u0007', status: 'succeeded', hyperparameters: {}, stoppedEarly: false };

    trialTable([], [{ ...trial, best: false }]).forEach((l) => consoleOutput.line(l));
    consoleOutput.line('#1 evt-\u001b[1A\u001b[2Kforged - applied');
    consoleOutput.error('error: event \u001b[31mred\u001b[0m is invalid');
    consoleOutput.json({ eventId: 'e\u009b1\u202e' });

    for (const text of [...out, ...err]) expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(out.join('')).toContain('t1\\u001b]0;pwned\\u0007');
    expect(JSON.parse(out.at(-1) ?? '')).toEqual({ eventId: 'e\u009b1\u202e' });
  });
});
