import { open, type FileHandle } from 'node:fs/promises';

/** How much of a trial's log is shown: its last 256 KiB. */
export const LOG_TAIL_BYTES = 256 * 1024;

const NEWLINE = 0x0a;

/**
 * The last `maxBytes` of a log file as UTF-8, cut at a line boundary: when the file is longer, the
 * partial first line is dropped (`truncated`). A single line longer than `maxBytes` is the one
 * case cut inside a line, after a whole character. Undefined when there is no file.
 *
 * @example await readLogTail('.tunewire/local/jobs/churn-4k2m/logs/churn-4k2m-t001.log') // { text: 'auc=0.81\n', truncated: false }
 */
export async function readLogTail(path: string, maxBytes = LOG_TAIL_BYTES): Promise<{ readonly text: string; readonly truncated: boolean } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    // the size read once: output written meanwhile is left for the next read
    const { size } = await handle.stat();
    if (size <= maxBytes) return { text: (await readAt(handle, 0, size)).toString('utf8'), truncated: false };
    // one byte before the window too, to know whether the window starts a line
    const window = await readAt(handle, size - maxBytes - 1, maxBytes + 1);
    const newline = window.indexOf(NEWLINE);
    const start = newline >= 0 ? newline + 1 : firstWholeCharacter(window, 1);
    return { text: window.subarray(start).toString('utf8'), truncated: true };
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** The index of the first byte at or after `from` that starts a UTF-8 character (not a 10xxxxxx continuation byte). */
function firstWholeCharacter(bytes: Buffer, from: number): number {
  let i = from;
  while (i < bytes.length && ((bytes[i] as number) & 0xc0) === 0x80) i++;
  return i;
}
