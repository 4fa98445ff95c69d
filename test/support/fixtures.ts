import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const EVENTS_DIR = join(import.meta.dirname, '..', '..', 'events');

/** A sample event from events/, as the transport delivers it. */
export function loadEvent(relativePath: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(EVENTS_DIR, relativePath), 'utf8')) as Record<string, unknown>;
}
