import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLogTail } from '../../../../shared/adapters/local/log-tail';

const dir = mkdtempSync(join(tmpdir(), 'tunewire-tail-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('readLogTail', () => {
  it('gives nothing for a file that does not exist', async () => {
    expect(await readLogTail(join(dir, 'missing.log'))).toBeUndefined();
  });

  it('gives a short file whole', async () => {
    expect(await readLogTail(file('short.log', 'a\nb\n'), 16)).toEqual({ text: 'a\nb\n', truncated: false });
  });

  it('drops the partial first line of the window', async () => {
    // 'one\ntwo\nthree\n' is 14 bytes; the last 8 are 'o\nthree\n'
    expect(await readLogTail(file('cut.log', 'one\ntwo\nthree\n'), 8)).toEqual({ text: 'three\n', truncated: true });
  });

  it('keeps the first line when the window starts right after a newline', async () => {
    expect(await readLogTail(file('aligned.log', 'one\ntwo\nthree\n'), 10)).toEqual({ text: 'two\nthree\n', truncated: true });
  });

  it('cuts a single line longer than the window after a whole UTF-8 character', async () => {
    // '日' is 3 bytes: the last 7 bytes of '日日日' start inside the first one shown
    expect(await readLogTail(file('long-line.log', '日日日'), 7)).toEqual({ text: '日日', truncated: true });
  });
});
