import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Trial, TrialObservation } from '../../shared/domain/trial';

export const EVENTS_DIR = join(import.meta.dirname, '..', '..', 'events');

/** A sample event from events/, as the transport delivers it. */
export function loadEvent(relativePath: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(EVENTS_DIR, relativePath), 'utf8')) as Record<string, unknown>;
}

/** A trial as the provider's own listing shows it, at one fixed moment (for ledger writes in tests). */
export function listed(trial: Trial, observedAt = '2026-11-23T10:00:00.000Z'): TrialObservation {
  return { trial, source: 'provider', observedAt };
}
